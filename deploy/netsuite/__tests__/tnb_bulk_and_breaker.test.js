import cache from 'N/cache';
import crypto from 'N/crypto';
import https from 'N/https';
import record from 'N/record';
import runtime from 'N/runtime';
import lib from 'SuiteScripts/tiktok_bridge/tnb_callout_lib';
import inventory from 'SuiteScripts/tiktok_bridge/tnb_ue_inventory';
import salesOrder from 'SuiteScripts/tiktok_bridge/tnb_ue_sales_order';

const { fixture, installRealHmac, fakeRecord, outboxRecordMock, ueContext } = require('../test-support/fakes');

jest.mock('N/cache');
jest.mock('N/crypto');
jest.mock('N/https');
jest.mock('N/log');
jest.mock('N/record');

const URL = 'https://bridge.example.com/callouts/netsuite';
const NOW_MS = 1714000000000;

/** An account-wide N/cache as NetSuite keeps it, shared by every script of these tests. */
let store;
function installCache() {
    store = {};
    cache.getCache.mockImplementation(() => ({
        get: (o) => (Object.prototype.hasOwnProperty.call(store, o.key) ? store[o.key] : null),
        put: (o) => {
            store[o.key] = o.value;
        },
        remove: (o) => {
            delete store[o.key];
        },
    }));
}

function receiptSave() {
    const rec = fakeRecord({ type: 'itemreceipt', id: 70, sublists: { item: [{ item: '1', location: '1', itemreceive: true }] } });
    return inventory.afterSubmit(ueContext('create', rec));
}

beforeEach(() => {
    jest.clearAllMocks();
    jest.useFakeTimers({ now: NOW_MS });
    runtime.__reset();
    runtime.__setParameters({ [inventory.URL_PARAM]: URL, [salesOrder.URL_PARAM]: URL });
    installRealHmac(crypto, { [fixture.secret_id]: fixture.secret });
    installCache();
    https.post.mockReturnValue({ code: 200, body: '' });
});

afterEach(() => jest.useRealTimers());

describe('bulk contexts write the outbox only', () => {
    it.each(lib.BULK_CONTEXTS)('%s: no inline post, one due outbox entry', (ctx) => {
        runtime.executionContext = ctx;
        const outbox = outboxRecordMock(record);
        const r = receiptSave();
        expect(https.post).not.toHaveBeenCalled();
        expect(r).toMatchObject({ delivered: false, deferred: true, outboxId: 901 });
        expect(outbox.values.custrecord_tnb_ob_attempts).toBe(0);
        expect(outbox.values.custrecord_tnb_ob_next_attempt).toEqual(new Date(NOW_MS));
        expect(outbox.values.custrecord_tnb_ob_gave_up).toBe(false);
        expect(JSON.parse(outbox.values.custrecord_tnb_ob_body).type).toBe('inventory.changed');
    });

    it('a bulk import of many sales orders never waits on the bridge', () => {
        runtime.executionContext = 'CSVIMPORT';
        outboxRecordMock(record);
        for (let i = 0; i < 50; i++) {
            const so = fakeRecord({ type: 'salesorder', id: 1000 + i, values: { externalid: 'web:' + i }, sublists: { item: [{ item: '5' }] } });
            salesOrder.afterSubmit(ueContext('create', so));
        }
        expect(https.post).not.toHaveBeenCalled();
        expect(record.create).toHaveBeenCalledTimes(50);
    });

    it('interactive contexts still post inline', () => {
        for (const ctx of ['USERINTERFACE', 'WORKFLOW', 'SUITELET', 'USEREVENT']) {
            https.post.mockClear();
            runtime.executionContext = ctx;
            receiptSave();
            expect(https.post).toHaveBeenCalledTimes(1);
        }
    });
});

describe('the breaker', () => {
    it('after a failed post, saves skip the inline post until it closes again', () => {
        const outbox = outboxRecordMock(record);
        https.post.mockImplementation(() => {
            throw new Error('SSS_CONNECTION_TIME_OUT');
        });
        expect(receiptSave()).toMatchObject({ delivered: false });
        expect(https.post).toHaveBeenCalledTimes(1);
        expect(lib.breakerOpen(NOW_MS)).toBe(true);

        // Open: the next saves write the outbox without trying.
        for (let i = 0; i < 5; i++) {
            expect(receiptSave()).toMatchObject({ deferred: true });
        }
        expect(https.post).toHaveBeenCalledTimes(1);
        expect(outbox.values.custrecord_tnb_ob_last_error).toMatch(/breaker open/);

        // Closed once BREAKER_SECONDS have passed: the next save tries inline again.
        jest.setSystemTime(NOW_MS + lib.BREAKER_SECONDS * 1000 + 1);
        https.post.mockReturnValue({ code: 200, body: '' });
        https.post.mockImplementation(undefined);
        https.post.mockReturnValue({ code: 200, body: '' });
        expect(receiptSave()).toMatchObject({ delivered: true });
        expect(https.post).toHaveBeenCalledTimes(2);
    });

    it('a permanent refusal (400) does not open it', () => {
        outboxRecordMock(record);
        https.post.mockReturnValue({ code: 400, body: 'bad' });
        receiptSave();
        expect(lib.breakerOpen(NOW_MS)).toBe(false);
    });

    it('an unreadable cache leaves it closed', () => {
        cache.getCache.mockImplementation(() => {
            throw new Error('SSS_CACHE_UNAVAILABLE');
        });
        lib.tripBreaker(NOW_MS);
        expect(lib.breakerOpen(NOW_MS)).toBe(false);
        expect(receiptSave()).toMatchObject({ delivered: true });
    });
});

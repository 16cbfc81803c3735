import crypto from 'N/crypto';
import https from 'N/https';
import record from 'N/record';
import runtime from 'N/runtime';
import script from 'SuiteScripts/tiktok_bridge/tnb_ue_sales_order';

const { fixture, installRealHmac, verifyPerContract, fakeRecord, outboxRecordMock, ueContext, postedCall } = require('../test-support/fakes');

jest.mock('N/crypto');
jest.mock('N/https');
jest.mock('N/log');
jest.mock('N/record');

const URL = 'https://bridge.example.com/callouts/netsuite';
const NOW_MS = 1714000000000;
const EXTID = 'tiktok-order:576486316948490001';

function order(values, lines) {
    return fakeRecord({
        type: 'salesorder',
        id: 1234,
        values: Object.assign({ externalid: EXTID }, values),
        sublists: lines ? { item: lines } : undefined,
    });
}

function sentBody() {
    return JSON.parse(postedCall(https).body);
}

beforeEach(() => {
    jest.clearAllMocks();
    jest.useFakeTimers({ now: NOW_MS });
    runtime.__reset();
    runtime.__setParameters({ [script.URL_PARAM]: URL, [script.PREFIX_PARAM]: 'tiktok-order:' });
    installRealHmac(crypto, { [fixture.secret_id]: fixture.secret });
    https.post.mockReturnValue({ code: 200, body: '' });
});

afterEach(() => jest.useRealTimers());

describe('event type', () => {
    it('cancel -> sales_order.cancelled', () => {
        script.afterSubmit(ueContext('cancel', order({ orderstatus: 'C' }), order({ orderstatus: 'B' })));
        expect(sentBody()).toEqual({
            type: 'sales_order.cancelled',
            occurred_at: new Date(NOW_MS).toISOString(),
            account: '1234567_SB1',
            data: { sales_order_id: '1234', external_id: EXTID, order_status: 'C', trigger: 'cancel' },
        });
    });

    it('edit that cancels the order -> sales_order.cancelled', () => {
        script.afterSubmit(ueContext('edit', order({ orderstatus: 'C' }), order({ orderstatus: 'A' })));
        expect(sentBody().type).toBe('sales_order.cancelled');
    });

    it('edit to status Closed -> sales_order.closed', () => {
        script.afterSubmit(ueContext('edit', order({ orderstatus: 'H' }), order({ orderstatus: 'B' })));
        const body = sentBody();
        expect(body.type).toBe('sales_order.closed');
        expect(body.data.order_status).toBe('H');
    });

    it('edit that closes the last open line -> sales_order.closed', () => {
        const before = order({ orderstatus: 'B' }, [{ isclosed: true }, { isclosed: false }]);
        const after = order({ orderstatus: 'B' }, [{ isclosed: true }, { isclosed: 'T' }]);
        script.afterSubmit(ueContext('edit', after, before));
        expect(sentBody().type).toBe('sales_order.closed');
    });

    it('sends nothing for a partial close, an edit of a closed order, or other edits', () => {
        const partial = order({ orderstatus: 'B' }, [{ isclosed: true }, { isclosed: false }]);
        script.afterSubmit(ueContext('edit', partial, order({ orderstatus: 'B' }, [{ isclosed: false }, { isclosed: false }])));
        script.afterSubmit(ueContext('edit', order({ orderstatus: 'H' }), order({ orderstatus: 'H' })));
        script.afterSubmit(ueContext('edit', order({ orderstatus: 'B' }), order({ orderstatus: 'A' })));
        script.afterSubmit(ueContext('xedit', order({ memo: 'x' }), order({ orderstatus: 'B' })));
        script.afterSubmit(ueContext('create', order({ orderstatus: 'B' })));
        script.afterSubmit(ueContext('approve', order({ orderstatus: 'B' }), order({ orderstatus: 'A' })));
        expect(https.post).not.toHaveBeenCalled();
    });
});

describe('filtering', () => {
    it('sends nothing for the bridge own REST writes (closing cancelled lines, flow O2)', () => {
        runtime.executionContext = runtime.ContextType.REST_WEBSERVICES;
        script.afterSubmit(ueContext('edit', order({ orderstatus: 'H' }), order({ orderstatus: 'B' })));
        script.afterSubmit(ueContext('cancel', order({ orderstatus: 'C' }), order({ orderstatus: 'B' })));
        expect(https.post).not.toHaveBeenCalled();
        expect(record.create).not.toHaveBeenCalled();
    });

    it('recognises TikTok orders as the bridge does: prefix or custbody_tiktok_order_id', () => {
        const byField = (st) =>
            fakeRecord({ type: 'salesorder', id: 7, values: { orderstatus: st, externalid: 'legacy-77', custbody_tiktok_order_id: '5764' } });
        script.afterSubmit(ueContext('cancel', byField('C'), byField('B')));
        expect(sentBody().type).toBe('sales_order.cancelled');
        expect(script.isTikTokOrder(fakeRecord({ values: { externalid: 'shopify:1' } }))).toBe(false);
        expect(script.isTikTokOrder(fakeRecord({ values: { externalid: EXTID } }))).toBe(true);
        runtime.__setParameters({ [script.URL_PARAM]: URL, [script.PREFIX_PARAM]: '' });
        expect(script.isTikTokOrder(fakeRecord({ values: { externalid: EXTID } }))).toBe(false);
    });
});

describe('stock moved by any channel', () => {
    const lines = [
        { item: '501', location: '3', quantity: 2 },
        { item: '502', quantity: 1 },
    ];
    const webOrder = (values, ls) =>
        fakeRecord({ type: 'salesorder', id: 88, values: Object.assign({ externalid: 'shopify:1', location: '1' }, values), sublists: { item: ls || lines } });

    it('another channel\'s new order -> inventory.changed naming its items and locations', () => {
        script.afterSubmit(ueContext('create', webOrder({ orderstatus: 'B' })));
        expect(sentBody()).toEqual({
            type: 'inventory.changed',
            occurred_at: new Date(NOW_MS).toISOString(),
            account: '1234567_SB1',
            data: { record_type: 'salesorder', record_id: '88', item_ids: ['501', '502'], location_ids: ['1', '3'], trigger: 'create' },
        });
        expect(postedCall(https).headers['webhook-id']).toMatch(/^ns_salesorder_88_changed_/);
    });

    it('every stock-moving event of another channel\'s order is announced; views are not', () => {
        for (const t of script.INVENTORY_EVENTS) {
            https.post.mockClear();
            script.afterSubmit(ueContext(t, t === 'delete' ? undefined : webOrder({ orderstatus: 'C' }), webOrder({ orderstatus: 'B' })));
            expect(https.post).toHaveBeenCalledTimes(1);
            expect(sentBody().type).toBe('inventory.changed');
            expect(sentBody().data.trigger).toBe(t);
        }
        https.post.mockClear();
        script.afterSubmit(ueContext('view', webOrder({})));
        expect(https.post).not.toHaveBeenCalled();
    });

    it('a TikTok order counts once: its create sends nothing, its cancel one sales_order callout', () => {
        script.afterSubmit(ueContext('create', order({ orderstatus: 'B' }, lines)));
        expect(https.post).not.toHaveBeenCalled();
        script.afterSubmit(ueContext('cancel', order({ orderstatus: 'C' }, lines), order({ orderstatus: 'B' }, lines)));
        expect(sentBody().type).toBe('sales_order.cancelled');
    });

    it('a user edit of a TikTok order that changes lines is a stock change', () => {
        script.afterSubmit(ueContext('edit', order({ orderstatus: 'B' }, [{ item: '9', quantity: 1 }]), order({ orderstatus: 'B' }, lines)));
        expect(sentBody().data.item_ids).toEqual(['9', '501', '502']);
    });

    it('xedit falls back to the old record: an inline close of the last line is seen as a close', () => {
        const before = order({ orderstatus: 'B' }, [{ item: '501', isclosed: false }]);
        // The inline edit carries the changed line field only.
        const inline = fakeRecord({ type: 'salesorder', id: 1234, values: {}, sublists: { item: [{ isclosed: true }] } });
        script.afterSubmit(ueContext('xedit', inline, before));
        expect(sentBody().type).toBe('sales_order.closed');
        expect(sentBody().data.external_id).toBe(EXTID);
    });
});

describe('signature and outbox', () => {
    it('signs the callout the way the service verifies it with the shared fixture key', () => {
        script.afterSubmit(ueContext('cancel', order({ orderstatus: 'C' }), order({ orderstatus: 'B' })));
        const call = postedCall(https);
        expect(call.headers['webhook-id']).toMatch(/^ns_salesorder_1234_cancelled_/);
        expect(verifyPerContract(fixture.secret, call.headers, call.body, NOW_MS / 1000)).toBe(true);
    });

    it('keeps the callout in the outbox on an HTTP failure', () => {
        https.post.mockReturnValue({ code: 401, body: 'stale' });
        const outbox = outboxRecordMock(record);
        script.afterSubmit(ueContext('cancel', order({ orderstatus: 'C' }), order({ orderstatus: 'B' })));
        expect(outbox.save).toHaveBeenCalledTimes(1);
        expect(outbox.values.custrecord_tnb_ob_event_type).toBe('sales_order.cancelled');
        expect(outbox.values.custrecord_tnb_ob_gave_up).toBe(false);
    });

    it('keeps the callout in the outbox when the post throws', () => {
        https.post.mockImplementation(() => {
            throw new Error('SSS_REQUEST_TIME_EXCEEDED');
        });
        const outbox = outboxRecordMock(record);
        expect(() =>
            script.afterSubmit(ueContext('edit', order({ orderstatus: 'H' }), order({ orderstatus: 'B' })))
        ).not.toThrow();
        expect(outbox.save).toHaveBeenCalledTimes(1);
        expect(outbox.values.custrecord_tnb_ob_event_type).toBe('sales_order.closed');
    });
});

import crypto from 'N/crypto';
import https from 'N/https';
import record from 'N/record';
import runtime from 'N/runtime';
import script from 'SuiteScripts/tiktok_bridge/tnb_ue_inventory';

const { fixture, installRealHmac, verifyPerContract, fakeRecord, outboxRecordMock, ueContext, postedCall } = require('../test-support/fakes');

jest.mock('N/crypto');
jest.mock('N/https');
jest.mock('N/log');
jest.mock('N/record');

const URL = 'https://bridge.example.com/callouts/netsuite';
const NOW_MS = 1714000000000;

function receipt(lines, id) {
    return fakeRecord({ type: 'itemreceipt', id: id || 70, values: { createdfrom: '300' }, sublists: { item: lines } });
}

function sentBody() {
    return JSON.parse(postedCall(https).body);
}

beforeEach(() => {
    jest.clearAllMocks();
    jest.useFakeTimers({ now: NOW_MS });
    runtime.__reset();
    runtime.__setParameters({ [script.URL_PARAM]: URL });
    installRealHmac(crypto, { [fixture.secret_id]: fixture.secret });
    https.post.mockReturnValue({ code: 200, body: '' });
});

afterEach(() => jest.useRealTimers());

describe('items and locations', () => {
    it('item receipt: received lines only, ids sorted and unique', () => {
        const rec = receipt([
            { item: '502', location: '3', itemreceive: true },
            { item: '501', location: '1', itemreceive: true },
            { item: '900', location: '7', itemreceive: false },
            { item: 501, location: 1, itemreceive: 'T' },
        ]);
        script.afterSubmit(ueContext('create', rec));
        expect(sentBody()).toEqual({
            type: 'inventory.changed',
            occurred_at: new Date(NOW_MS).toISOString(),
            account: '1234567_SB1',
            data: { record_type: 'itemreceipt', record_id: '70', item_ids: ['501', '502'], location_ids: ['1', '3'], trigger: 'create' },
        });
        expect(postedCall(https).headers['webhook-id']).toMatch(/^ns_itemreceipt_70_changed_/);
    });

    it('inventory adjustment: lines on the inventory sublist', () => {
        const rec = fakeRecord({
            type: 'inventoryadjustment',
            id: 81,
            values: { adjlocation: '2' },
            sublists: { inventory: [{ item: '10', location: '2' }, { item: '11', location: '4' }] },
        });
        script.afterSubmit(ueContext('create', rec));
        expect(sentBody().data).toMatchObject({ record_type: 'inventoryadjustment', item_ids: ['10', '11'], location_ids: ['2', '4'] });
    });

    it('inventory transfer: from and to locations on the header', () => {
        const rec = fakeRecord({
            type: 'inventorytransfer',
            id: 82,
            values: { location: '1', transferlocation: '5' },
            sublists: { inventory: [{ item: '10' }] },
        });
        script.afterSubmit(ueContext('create', rec));
        expect(sentBody().data).toMatchObject({ item_ids: ['10'], location_ids: ['1', '5'] });
    });

    it('edit: union of the old and the new lines', () => {
        const before = receipt([{ item: '1', location: '1', itemreceive: true }, { item: '2', location: '1', itemreceive: true }]);
        const after = receipt([{ item: '1', location: '9', itemreceive: true }]);
        script.afterSubmit(ueContext('edit', after, before));
        expect(sentBody().data).toMatchObject({ item_ids: ['1', '2'], location_ids: ['1', '9'], trigger: 'edit' });
    });

    it('delete: the deleted record lines', () => {
        const before = receipt([{ item: '3', location: '1', itemreceive: true }], 71);
        script.afterSubmit(ueContext('delete', receipt([], 71), before));
        expect(sentBody().data).toMatchObject({ record_id: '71', item_ids: ['3'], trigger: 'delete' });
    });

    // Every stock-moving record type the script is deployed on, with the sublist it keeps its
    // lines on (and the header item of assemblies), whatever channel saved it.
    const RECORDS = [
        ['cashsale', { location: '2' }, { item: [{ item: '20' }] }, ['20'], ['2']],
        ['invoice', { location: '2' }, { item: [{ item: '21', location: '3' }] }, ['21'], ['2', '3']],
        ['transferorder', { location: '1', transferlocation: '4' }, { item: [{ item: '22' }] }, ['22'], ['1', '4']],
        ['itemfulfillment', {}, { item: [{ item: '23', location: '1' }] }, ['23'], ['1']],
        ['assemblybuild', { item: '30', location: '1' }, { component: [{ item: '31' }, { item: '32' }] }, ['30', '31', '32'], ['1']],
        ['assemblyunbuild', { item: '30', location: '1' }, { component: [{ item: '31' }] }, ['30', '31'], ['1']],
        ['workorderissue', { location: '1' }, { component: [{ item: '33' }] }, ['33'], ['1']],
        ['workordercompletion', { item: '34', location: '1' }, { component: [{ item: '35' }] }, ['34', '35'], ['1']],
        ['inventorystatuschange', { location: '6' }, { inventory: [{ item: '36' }] }, ['36'], ['6']],
        ['inventorycount', { location: '6' }, { item: [{ item: '37', location: '6' }] }, ['37'], ['6']],
    ];
    it.each(RECORDS)('%s: items and locations', (type, values, sublists, items, locations) => {
        script.afterSubmit(ueContext('create', fakeRecord({ type: type, id: 90, values: values, sublists: sublists })));
        expect(sentBody().data).toEqual({ record_type: type, record_id: '90', item_ids: items, location_ids: locations, trigger: 'create' });
    });

    it('item fulfillment pack, ship and delete, approval and cancellation are stock changes', () => {
        for (const t of ['pack', 'ship', 'delete', 'approve', 'cancel']) {
            https.post.mockClear();
            const rec = fakeRecord({ type: 'itemfulfillment', id: 91, sublists: { item: [{ item: '23', location: '1' }] } });
            script.afterSubmit(ueContext(t, t === 'delete' ? undefined : rec, rec));
            expect(sentBody().data).toMatchObject({ record_type: 'itemfulfillment', record_id: '91', item_ids: ['23'], trigger: t });
        }
    });

    it('xedit: the inline edit has no lines, the old record names them', () => {
        const before = receipt([{ item: '4', location: '2', itemreceive: true }], 72);
        const inline = fakeRecord({ type: 'itemreceipt', id: 72, values: { memo: 'x' } });
        script.afterSubmit(ueContext('xedit', inline, before));
        expect(sentBody().data).toMatchObject({ item_ids: ['4'], location_ids: ['2'], trigger: 'xedit' });
    });

    it('sends nothing when no item is touched, or for other event types', () => {
        script.afterSubmit(ueContext('create', receipt([{ item: '1', location: '1', itemreceive: false }])));
        script.afterSubmit(ueContext('view', receipt([{ item: '1', location: '1', itemreceive: true }])));
        expect(https.post).not.toHaveBeenCalled();
    });
});

describe('filtering, signature and outbox', () => {
    it('sends nothing for REST web services writes (the bridge own restock receipts)', () => {
        runtime.executionContext = runtime.ContextType.REST_WEBSERVICES;
        script.afterSubmit(ueContext('create', receipt([{ item: '1', location: '1', itemreceive: true }])));
        expect(https.post).not.toHaveBeenCalled();
        expect(record.create).not.toHaveBeenCalled();
    });

    it('signs the callout the way the service verifies it with the shared fixture key', () => {
        script.afterSubmit(ueContext('create', receipt([{ item: '1', location: '1', itemreceive: true }])));
        const call = postedCall(https);
        expect(verifyPerContract(fixture.secret, call.headers, call.body, NOW_MS / 1000)).toBe(true);
    });

    it('keeps the callout in the outbox on an HTTP failure', () => {
        https.post.mockReturnValue({ code: 500, body: '' });
        const outbox = outboxRecordMock(record);
        script.afterSubmit(ueContext('create', receipt([{ item: '1', location: '1', itemreceive: true }])));
        expect(outbox.save).toHaveBeenCalledTimes(1);
        expect(JSON.parse(outbox.values.custrecord_tnb_ob_body).data.item_ids).toEqual(['1']);
    });

    it('keeps the callout in the outbox when the post throws', () => {
        https.post.mockImplementation(() => {
            throw new Error('SSS_CONNECTION_CLOSED');
        });
        const outbox = outboxRecordMock(record);
        script.afterSubmit(ueContext('create', receipt([{ item: '1', location: '1', itemreceive: true }])));
        expect(outbox.save).toHaveBeenCalledTimes(1);
        expect(outbox.values.custrecord_tnb_ob_last_error).toMatch(/SSS_CONNECTION_CLOSED/);
    });
});

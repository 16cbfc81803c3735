import crypto from 'N/crypto';
import https from 'N/https';
import record from 'N/record';
import runtime from 'N/runtime';
import script from 'SuiteScripts/tiktok_bridge/tnb_ue_item_fulfillment';

const {
    fixture,
    installRealHmac,
    verifyPerContract,
    randomForSuffix,
    fakeRecord,
    outboxRecordMock,
    ueContext,
    postedCall,
} = require('../test-support/fakes');

jest.mock('N/crypto');
jest.mock('N/https');
jest.mock('N/log');
jest.mock('N/record');

const URL = 'https://bridge.example.com/callouts/netsuite';
const NOW_MS = fixture.script_inputs.now_ms;

function fulfillment(values, id) {
    return fakeRecord({ type: 'itemfulfillment', id: id || 4321, values });
}

function sent() {
    const call = postedCall(https);
    return { call, body: JSON.parse(call.body) };
}

beforeEach(() => {
    jest.clearAllMocks();
    jest.useFakeTimers({ now: NOW_MS });
    runtime.__reset();
    runtime.__setParameters({ [script.URL_PARAM]: URL });
    installRealHmac(crypto, { [fixture.secret_id]: fixture.secret });
    https.post.mockReturnValue({ code: 200, body: '' });
});

afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
});

it('sends exactly the shared fixture callout for the fixture edit (status B -> C)', () => {
    const input = fixture.script_inputs;
    runtime.accountId = input.account;
    jest.spyOn(Math, 'random').mockReturnValue(randomForSuffix(input.id_suffix));
    const ctx = ueContext(
        input.user_event_type,
        fakeRecord({ type: input.record_type, id: Number(input.record_id), values: input.new_record }),
        fakeRecord({ type: input.record_type, id: Number(input.record_id), values: input.old_record })
    );
    script.afterSubmit(ctx);
    const { call } = sent();
    expect(call.url).toBe(URL);
    expect(call.body).toBe(fixture.body);
    expect(call.headers['webhook-id']).toBe(fixture.id);
    expect(call.headers['webhook-timestamp']).toBe(String(fixture.timestamp));
    expect(call.headers['webhook-signature']).toBe(fixture.signature);
    expect(verifyPerContract(fixture.secret, call.headers, call.body, fixture.timestamp)).toBe(true);
});

describe('context filtering', () => {
    it('sends nothing for writes made through REST web services (the bridge itself)', () => {
        runtime.executionContext = runtime.ContextType.REST_WEBSERVICES;
        script.afterSubmit(ueContext('ship', fulfillment({ shipstatus: 'C', createdfrom: '1' })));
        expect(https.post).not.toHaveBeenCalled();
        expect(record.create).not.toHaveBeenCalled();
    });

    it('posts inline for UI and workflow saves', () => {
        for (const ctx of ['USERINTERFACE', 'WORKFLOW']) {
            https.post.mockClear();
            runtime.executionContext = ctx;
            script.afterSubmit(ueContext('ship', fulfillment({ shipstatus: 'C', createdfrom: '1' })));
            expect(https.post).toHaveBeenCalledTimes(1);
        }
    });

    it('CSV import and SOAP saves go to the outbox only, never inline', () => {
        for (const ctx of ['CSVIMPORT', 'WEBSERVICES']) {
            record.create.mockClear();
            const outbox = outboxRecordMock(record);
            runtime.executionContext = ctx;
            const r = script.afterSubmit(ueContext('ship', fulfillment({ shipstatus: 'C', createdfrom: '1' })));
            expect(r.deferred).toBe(true);
            expect(record.create).toHaveBeenCalledTimes(1);
            expect(outbox.values.custrecord_tnb_ob_event_type).toBe('item_fulfillment.shipped');
        }
        expect(https.post).not.toHaveBeenCalled();
    });

    it('pack -> item_fulfillment.edited with the packed status', () => {
        script.afterSubmit(ueContext('pack', fulfillment({ shipstatus: 'B', createdfrom: '1' }), fulfillment({ shipstatus: 'A' })));
        const body = JSON.parse(postedCall(https).body);
        expect(body.type).toBe('item_fulfillment.edited');
        expect(body.data.ship_status).toBe('B');
        expect(body.data.trigger).toBe('pack');
    });

    it('ignores event types it does not handle (a deletion is the inventory script\'s)', () => {
        for (const type of ['delete', 'view', 'cancel']) {
            script.afterSubmit(ueContext(type, fulfillment({ shipstatus: 'B' }), fulfillment({ shipstatus: 'A' })));
        }
        expect(https.post).not.toHaveBeenCalled();
    });
});

describe('event type', () => {
    const cases = [
        ['create, picked', 'create', { shipstatus: 'A' }, null, 'item_fulfillment.created'],
        ['create, packed', 'create', { shipstatus: 'B' }, null, 'item_fulfillment.created'],
        ['create, shipped', 'create', { shipstatus: 'C' }, null, 'item_fulfillment.shipped'],
        ['create without Pick, Pack and Ship', 'create', {}, null, 'item_fulfillment.shipped'],
        ['ship', 'ship', { shipstatus: 'C' }, { shipstatus: 'B' }, 'item_fulfillment.shipped'],
        ['edit, packed -> shipped', 'edit', { shipstatus: 'C' }, { shipstatus: 'B' }, 'item_fulfillment.shipped'],
        ['edit, shipped -> shipped (tracking changed)', 'edit', { shipstatus: 'C' }, { shipstatus: 'C' }, 'item_fulfillment.edited'],
        ['edit, picked -> packed', 'edit', { shipstatus: 'B' }, { shipstatus: 'A' }, 'item_fulfillment.edited'],
        ['inline edit of status to shipped', 'xedit', { shipstatus: 'C' }, { shipstatus: 'A' }, 'item_fulfillment.shipped'],
        ['inline edit of another field', 'xedit', { memo: 'x' }, { shipstatus: 'C' }, 'item_fulfillment.edited'],
    ];
    it.each(cases)('%s', (_name, ueType, newValues, oldValues, expected) => {
        const newRec = fulfillment(Object.assign({ createdfrom: '1234' }, newValues));
        const oldRec = oldValues ? fulfillment(Object.assign({ createdfrom: '1234' }, oldValues)) : undefined;
        script.afterSubmit(ueContext(ueType, newRec, oldRec));
        const { body } = sent();
        expect(body.type).toBe(expected);
        expect(body.data.item_fulfillment_id).toBe('4321');
        expect(body.data.created_from).toBe('1234');
        expect(body.data.trigger).toBe(ueType);
    });

    it('reads ship status and order from the old record on inline edits', () => {
        const newRec = fulfillment({ memo: 'x' });
        const oldRec = fulfillment({ shipstatus: 'C', createdfrom: '99' });
        script.afterSubmit(ueContext('xedit', newRec, oldRec));
        const { body } = sent();
        expect(body.data).toEqual({
            item_fulfillment_id: '4321',
            created_from: '99',
            ship_status: 'C',
            previous_ship_status: 'C',
            trigger: 'xedit',
        });
    });
});

describe('signature and outbox', () => {
    it('signs every callout the way the service verifies it', () => {
        script.afterSubmit(ueContext('create', fulfillment({ shipstatus: 'A', createdfrom: '5' })));
        const { call } = sent();
        expect(call.headers['webhook-id']).toMatch(/^ns_itemfulfillment_4321_created_/);
        expect(verifyPerContract(fixture.secret, call.headers, call.body, NOW_MS / 1000)).toBe(true);
        expect(verifyPerContract('another-secret', call.headers, call.body, NOW_MS / 1000)).toBe(false);
    });

    it('keeps the callout in the outbox on an HTTP failure', () => {
        https.post.mockReturnValue({ code: 502, body: 'bad gateway' });
        const outbox = outboxRecordMock(record);
        const result = script.afterSubmit(ueContext('ship', fulfillment({ shipstatus: 'C', createdfrom: '1' })));
        expect(result.delivered).toBe(false);
        expect(outbox.save).toHaveBeenCalledTimes(1);
        expect(outbox.values.custrecord_tnb_ob_event_type).toBe('item_fulfillment.shipped');
        expect(outbox.values.custrecord_tnb_ob_body).toBe(https.post.mock.calls[0][0].body);
        expect(outbox.values.custrecord_tnb_ob_webhook_id).toBe(result.webhookId);
        expect(outbox.values.custrecord_tnb_ob_last_error).toBe('HTTP 502: bad gateway');
    });

    it('keeps the callout in the outbox when the post throws, and the save still succeeds', () => {
        https.post.mockImplementation(() => {
            throw new Error('SSS_CONNECTION_TIME_OUT');
        });
        const outbox = outboxRecordMock(record);
        expect(() => script.afterSubmit(ueContext('ship', fulfillment({ shipstatus: 'C' })))).not.toThrow();
        expect(outbox.save).toHaveBeenCalledTimes(1);
        expect(outbox.values.custrecord_tnb_ob_last_error).toMatch(/SSS_CONNECTION_TIME_OUT/);
    });

    it('never throws out of afterSubmit, whatever the record does', () => {
        const broken = fulfillment({});
        broken.getValue.mockImplementation(() => {
            throw new Error('boom');
        });
        expect(() => script.afterSubmit(ueContext('edit', broken, broken))).not.toThrow();
    });
});

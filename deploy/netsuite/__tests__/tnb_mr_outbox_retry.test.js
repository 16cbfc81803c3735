import crypto from 'N/crypto';
import https from 'N/https';
import log from 'N/log';
import query from 'N/query';
import record from 'N/record';
import runtime from 'N/runtime';
import script from 'SuiteScripts/tiktok_bridge/tnb_mr_outbox_retry';

const { fixture, installRealHmac, verifyPerContract, fakeRecord } = require('../test-support/fakes');

jest.mock('N/crypto');
jest.mock('N/https');
jest.mock('N/log');
jest.mock('N/record');

const URL = 'https://bridge.example.com/callouts/netsuite';
const NOW_MS = 1714000000000;

function entry(values, id) {
    return fakeRecord({
        type: 'customrecord_tnb_outbox',
        id: id || 11,
        values: Object.assign(
            {
                custrecord_tnb_ob_webhook_id: fixture.id,
                custrecord_tnb_ob_event_type: 'item_fulfillment.shipped',
                custrecord_tnb_ob_body: fixture.body,
                custrecord_tnb_ob_attempts: 1,
                custrecord_tnb_ob_last_error: 'HTTP 503: ',
                custrecord_tnb_ob_next_attempt: new Date(NOW_MS - 1000),
                custrecord_tnb_ob_gave_up: false,
            },
            values
        ),
    });
}

beforeEach(() => {
    jest.clearAllMocks();
    runtime.__reset();
    query.__reset();
    runtime.__setParameters({ [script.URL_PARAM]: URL, [script.MAX_ATTEMPTS_PARAM]: 5 });
    installRealHmac(crypto, { [fixture.secret_id]: fixture.secret });
    https.post.mockReturnValue({ code: 200, body: '' });
});

describe('getInputData', () => {
    it('hands map/reduce a SuiteQL query object (no 5,000-row cap) filtered by due time', () => {
        expect(script.getInputData()).toEqual({
            type: 'suiteql',
            query:
                "SELECT id FROM customrecord_tnb_outbox WHERE custrecord_tnb_ob_gave_up = 'F' AND isinactive = 'F'" +
                ' AND (custrecord_tnb_ob_next_attempt IS NULL OR custrecord_tnb_ob_next_attempt <= SYSDATE) ORDER BY id',
            params: [],
        });
        // Nothing read through query.runSuiteQL, which stops at 5,000 rows.
        expect(query.__statements()).toHaveLength(0);
    });

    it('does nothing without a bridge URL, so no attempt is burnt', () => {
        runtime.__setParameters({});
        query.__setRows([{ id: 11 }]);
        expect(script.getInputData()).toEqual([]);
        expect(query.__statements()).toHaveLength(0);
        expect(log.error).toHaveBeenCalled();
    });
});

describe('processEntry', () => {
    it('posts the stored callout again (same id and body, fresh timestamp) and deletes it on success', () => {
        record.load.mockReturnValue(entry({}));
        expect(script.processEntry('11', NOW_MS)).toBe('delivered');
        const call = https.post.mock.calls[0][0];
        expect(call.url).toBe(URL);
        expect(call.body).toBe(fixture.body);
        expect(call.headers['webhook-id']).toBe(fixture.id);
        expect(call.headers['webhook-timestamp']).toBe(String(NOW_MS / 1000));
        expect(verifyPerContract(fixture.secret, call.headers, call.body, NOW_MS / 1000)).toBe(true);
        expect(record.delete).toHaveBeenCalledWith({ type: 'customrecord_tnb_outbox', id: '11' });
    });

    it('on an HTTP failure: attempts + 1, error and backoff recorded, entry kept', () => {
        const rec = entry({ custrecord_tnb_ob_attempts: 2 });
        record.load.mockReturnValue(rec);
        https.post.mockReturnValue({ code: 503, body: 'queue unavailable' });
        expect(script.processEntry('11', NOW_MS)).toBe('failed');
        expect(rec.values.custrecord_tnb_ob_attempts).toBe(3);
        expect(rec.values.custrecord_tnb_ob_last_error).toBe('HTTP 503: queue unavailable');
        expect(rec.values.custrecord_tnb_ob_next_attempt).toEqual(new Date(NOW_MS + 4 * 60 * 1000));
        expect(rec.values.custrecord_tnb_ob_gave_up).toBe(false);
        expect(rec.save).toHaveBeenCalledTimes(1);
        expect(record.delete).not.toHaveBeenCalled();
    });

    it('on an exception: attempts + 1, entry kept', () => {
        const rec = entry({ custrecord_tnb_ob_attempts: 0 });
        record.load.mockReturnValue(rec);
        https.post.mockImplementation(() => {
            throw new Error('SSS_CONNECTION_TIME_OUT');
        });
        expect(script.processEntry('11', NOW_MS)).toBe('failed');
        expect(rec.values.custrecord_tnb_ob_attempts).toBe(1);
        expect(rec.values.custrecord_tnb_ob_last_error).toMatch(/SSS_CONNECTION_TIME_OUT/);
        expect(record.delete).not.toHaveBeenCalled();
    });

    it('gives up after the configured number of attempts: kept and marked', () => {
        const rec = entry({ custrecord_tnb_ob_attempts: 4 });
        record.load.mockReturnValue(rec);
        https.post.mockReturnValue({ code: 500, body: '' });
        expect(script.processEntry('11', NOW_MS)).toBe('gave_up');
        expect(rec.values.custrecord_tnb_ob_attempts).toBe(5);
        expect(rec.values.custrecord_tnb_ob_gave_up).toBe(true);
        expect(rec.save).toHaveBeenCalledTimes(1);
        expect(record.delete).not.toHaveBeenCalled();
    });

    it('gives up at once on an answer that cannot change (400)', () => {
        const rec = entry({ custrecord_tnb_ob_attempts: 1 });
        record.load.mockReturnValue(rec);
        https.post.mockReturnValue({ code: 400, body: 'malformed event' });
        expect(script.processEntry('11', NOW_MS)).toBe('gave_up');
        expect(rec.values.custrecord_tnb_ob_gave_up).toBe(true);
    });

    it('leaves entries alone that are not due, given up, or gone', () => {
        record.load.mockReturnValueOnce(entry({ custrecord_tnb_ob_next_attempt: new Date(NOW_MS + 60000) }));
        expect(script.processEntry('11', NOW_MS)).toBe('not_due');
        record.load.mockReturnValueOnce(entry({ custrecord_tnb_ob_gave_up: true }));
        expect(script.processEntry('11', NOW_MS)).toBe('skipped');
        record.load.mockImplementationOnce(() => {
            throw new Error('RCRD_DSNT_EXIST');
        });
        expect(script.processEntry('11', NOW_MS)).toBe('missing');
        expect(https.post).not.toHaveBeenCalled();
    });

    it('uses 12 attempts when the parameter is not set', () => {
        runtime.__setParameters({ [script.URL_PARAM]: URL });
        https.post.mockReturnValue({ code: 500, body: '' });
        const rec = entry({ custrecord_tnb_ob_attempts: 10 });
        record.load.mockReturnValue(rec);
        expect(script.processEntry('11', NOW_MS)).toBe('failed');
        const last = entry({ custrecord_tnb_ob_attempts: 11 });
        record.load.mockReturnValue(last);
        expect(script.processEntry('11', NOW_MS)).toBe('gave_up');
    });
});

describe('map and summarize', () => {
    it('map processes the entry named by the input value and writes its outcome', () => {
        record.load.mockReturnValue(entry({}));
        const write = jest.fn();
        script.map({ key: '0', value: '"11"', write });
        expect(write).toHaveBeenCalledWith({ key: 'delivered', value: '11' });
        expect(script.parseId('{"id":12}')).toBe('12');
        expect(script.parseId('{"types":["INTEGER"],"values":[14]}')).toBe('14');
        expect(script.parseId('13')).toBe('13');
    });

    it('summarize counts outcomes and logs map errors', () => {
        const iter = (pairs) => ({
            iterator: () => ({
                each: (fn) => pairs.forEach(([k, v]) => fn(k, v)),
            }),
        });
        const counts = script.summarize({
            output: iter([['delivered', '1'], ['delivered', '2'], ['failed', '3']]),
            mapSummary: { errors: iter([['4', '{"name":"UNEXPECTED_ERROR"}']]) },
        });
        expect(counts).toEqual({ delivered: 2, failed: 1 });
        expect(log.error).toHaveBeenCalledWith(expect.objectContaining({ title: 'TNB outbox retry: map error for 4' }));
    });
});

import crypto from 'N/crypto';
import https from 'N/https';
import log from 'N/log';
import record from 'N/record';
import runtime from 'N/runtime';
import lib from 'SuiteScripts/tiktok_bridge/tnb_callout_lib';

const { fixture, installRealHmac, verifyPerContract, outboxRecordMock } = require('../test-support/fakes');

jest.mock('N/crypto');
jest.mock('N/https');
jest.mock('N/log');
jest.mock('N/record');

const URL = 'https://bridge.example.com/callouts/netsuite';
const EVENT = {
    type: 'item_fulfillment.shipped',
    recordType: 'itemfulfillment',
    recordId: '4321',
    data: { item_fulfillment_id: '4321', created_from: '1234', ship_status: 'C', previous_ship_status: 'B', trigger: 'edit' },
};
const OPTIONS = { urlParam: 'custscript_test_url', nowMs: fixture.script_inputs.now_ms, idSuffix: fixture.script_inputs.id_suffix };

beforeEach(() => {
    jest.clearAllMocks();
    runtime.__reset();
    runtime.__setParameters({ custscript_test_url: URL });
    installRealHmac(crypto, { [fixture.secret_id]: fixture.secret });
});

describe('signing matches the shared fixture the Rust service verifies', () => {
    it('produces the fixture webhook-signature for the fixture id, timestamp and body', () => {
        expect(lib.signatureHeader(fixture.id, fixture.timestamp, fixture.body)).toBe(fixture.signature);
    });

    it('keys N/crypto with the API Secret as UTF-8 and asks for the documented HEX digest', () => {
        lib.signatureHeader(fixture.id, fixture.timestamp, fixture.body);
        expect(crypto.createSecretKey).toHaveBeenCalledWith({ secret: 'custsecret_tnb_callout', encoding: 'UTF_8' });
        expect(crypto.createHmac).toHaveBeenCalledWith(expect.objectContaining({ algorithm: 'SHA256' }));
    });

    it('turns the hex digest into standard padded base64', () => {
        expect(lib.hexToBase64(fixture.hmac_hex)).toBe(fixture.signature.slice(3));
        expect(lib.hexToBase64(fixture.hmac_hex.toUpperCase())).toBe(fixture.signature.slice(3));
        // RFC 4648 section 10 vectors.
        expect(lib.hexToBase64('')).toBe('');
        expect(lib.hexToBase64('66')).toBe('Zg==');
        expect(lib.hexToBase64('666f')).toBe('Zm8=');
        expect(lib.hexToBase64('666f6f')).toBe('Zm9v');
        expect(lib.hexToBase64('666f6f62')).toBe('Zm9vYg==');
        expect(lib.hexToBase64('666f6f6261')).toBe('Zm9vYmE=');
        expect(lib.hexToBase64('666f6f626172')).toBe('Zm9vYmFy');
        expect(lib.hexToBase64('fbff')).toBe('+/8=');
        expect(() => lib.hexToBase64('abc')).toThrow();
        expect(() => lib.hexToBase64('zz')).toThrow();
    });

    it('builds the fixture body and webhook-id from the event', () => {
        const body = lib.buildBody(EVENT.type, EVENT.data, new Date(OPTIONS.nowMs), fixture.script_inputs.account);
        expect(body).toBe(fixture.body);
        expect(lib.makeWebhookId('itemfulfillment', '4321', EVENT.type, OPTIONS.nowMs, OPTIONS.idSuffix)).toBe(fixture.id);
    });

    it('keeps the body ASCII so the signed bytes cannot depend on a charset', () => {
        const body = lib.buildBody('x.y', { name: 'Café 東京 😀' }, new Date(0), 'A');
        expect(/^[\x20-\x7e]*$/.test(body)).toBe(true);
        expect(JSON.parse(body).data.name).toBe('Café 東京 😀');
    });

    it('makes ids the service accepts: visible ASCII, no dots, unique per call', () => {
        const a = lib.makeWebhookId('itemfulfillment', 4321, 'item_fulfillment.shipped', Date.now());
        const b = lib.makeWebhookId('itemfulfillment', 4321, 'item_fulfillment.shipped', Date.now());
        expect(a).toMatch(/^ns_itemfulfillment_4321_shipped_[a-z0-9]+$/);
        expect(a).not.toBe(b);
        expect(lib.makeWebhookId('a.b c', '1', 't.x', 0, 'q')).toBe('ns_abc_1_x_0q');
    });
});

describe('send', () => {
    it('posts the signed fixture callout and writes no outbox on 2xx', () => {
        runtime.accountId = fixture.script_inputs.account;
        https.post.mockReturnValue({ code: 202, body: '' });
        const result = lib.send(EVENT, OPTIONS);
        expect(result).toEqual({ delivered: true, webhookId: fixture.id, status: 202 });
        const call = https.post.mock.calls[0][0];
        expect(call.url).toBe(URL);
        expect(call.body).toBe(fixture.body);
        expect(call.headers).toEqual({
            'Content-Type': 'application/json',
            'webhook-id': fixture.id,
            'webhook-timestamp': String(fixture.timestamp),
            'webhook-signature': fixture.signature,
        });
        expect(verifyPerContract(fixture.secret, call.headers, call.body, fixture.timestamp)).toBe(true);
        expect(record.create).not.toHaveBeenCalled();
    });

    it('writes the outbox on a non-2xx answer, due after the first backoff', () => {
        https.post.mockReturnValue({ code: 503, body: 'queue unavailable' });
        const outbox = outboxRecordMock(record, 77);
        const result = lib.send(EVENT, OPTIONS);
        expect(result).toMatchObject({ delivered: false, outboxId: 77, status: 503, error: 'HTTP 503: queue unavailable' });
        expect(record.create).toHaveBeenCalledWith({ type: 'customrecord_tnb_outbox' });
        expect(outbox.values).toEqual({
            custrecord_tnb_ob_webhook_id: result.webhookId,
            custrecord_tnb_ob_event_type: 'item_fulfillment.shipped',
            custrecord_tnb_ob_body: https.post.mock.calls[0][0].body,
            custrecord_tnb_ob_attempts: 1,
            custrecord_tnb_ob_last_error: 'HTTP 503: queue unavailable',
            custrecord_tnb_ob_next_attempt: new Date(OPTIONS.nowMs + 60 * 1000),
            custrecord_tnb_ob_gave_up: false,
        });
        expect(outbox.save).toHaveBeenCalled();
    });

    it('writes the outbox when N/https throws', () => {
        https.post.mockImplementation(() => {
            const e = new Error('The host you are trying to connect to is not responding');
            e.name = 'SSS_REQUEST_TIME_EXCEEDED';
            throw e;
        });
        const outbox = outboxRecordMock(record);
        const result = lib.send(EVENT, OPTIONS);
        expect(result.delivered).toBe(false);
        expect(outbox.values.custrecord_tnb_ob_last_error).toBe(
            'SSS_REQUEST_TIME_EXCEEDED: The host you are trying to connect to is not responding'
        );
        expect(outbox.values.custrecord_tnb_ob_attempts).toBe(1);
    });

    it('writes the outbox when signing fails (secret missing or not allowed for this script)', () => {
        installRealHmac(crypto, {});
        const outbox = outboxRecordMock(record);
        const result = lib.send(EVENT, OPTIONS);
        expect(https.post).not.toHaveBeenCalled();
        expect(result.delivered).toBe(false);
        expect(outbox.values.custrecord_tnb_ob_last_error).toMatch(/INVALID_SECRET_KEY/);
    });

    it('marks answers that cannot change (400, 413) as given up at once', () => {
        for (const code of [400, 413]) {
            https.post.mockReturnValue({ code, body: 'no' });
            const outbox = outboxRecordMock(record);
            lib.send(EVENT, OPTIONS);
            expect(outbox.values.custrecord_tnb_ob_gave_up).toBe(true);
        }
    });

    it('without a usable bridge URL: no post, outbox entry with 0 attempts due now', () => {
        for (const url of [null, '', 'http://bridge.example.com/callouts/netsuite', 'not a url']) {
            jest.clearAllMocks();
            runtime.__setParameters({ custscript_test_url: url });
            const outbox = outboxRecordMock(record);
            const result = lib.send(EVENT, OPTIONS);
            expect(https.post).not.toHaveBeenCalled();
            expect(result.delivered).toBe(false);
            expect(outbox.values.custrecord_tnb_ob_attempts).toBe(0);
            expect(outbox.values.custrecord_tnb_ob_next_attempt).toEqual(new Date(OPTIONS.nowMs));
            expect(outbox.values.custrecord_tnb_ob_last_error).toMatch(/not configured/);
        }
    });

    it('never throws, and logs the callout when even the outbox write fails', () => {
        https.post.mockReturnValue({ code: 500, body: '' });
        record.create.mockImplementation(() => {
            throw new Error('INSUFFICIENT_PERMISSION');
        });
        const result = lib.send(EVENT, OPTIONS);
        expect(result).toMatchObject({ delivered: false, outboxId: null });
        expect(log.emergency).toHaveBeenCalledWith(
            expect.objectContaining({ title: 'TNB callout LOST: outbox write failed', details: expect.stringContaining(fixture.id) })
        );
    });
});

describe('helpers', () => {
    it('skips only REST web services writes', () => {
        expect(lib.contextAllowed()).toBe(true);
        for (const ctx of ['USERINTERFACE', 'CSVIMPORT', 'WEBSERVICES', 'SCHEDULED', 'MAPREDUCE', 'WORKFLOW']) {
            runtime.executionContext = ctx;
            expect(lib.contextAllowed()).toBe(true);
        }
        runtime.executionContext = runtime.ContextType.REST_WEBSERVICES;
        expect(lib.contextAllowed()).toBe(false);
    });

    it('backs off 1, 2, 4 ... minutes up to 6 hours', () => {
        expect([1, 2, 3, 4].map(lib.backoffSeconds)).toEqual([60, 120, 240, 480]);
        expect(lib.backoffSeconds(12)).toBe(6 * 3600);
        expect(lib.backoffSeconds(0)).toBe(60);
    });

    it('reads ids as strings', () => {
        expect(lib.idOf(42)).toBe('42');
        expect(lib.idOf(['7'])).toBe('7');
        expect(lib.idOf('')).toBeNull();
        expect(lib.idOf(undefined)).toBeNull();
    });
});

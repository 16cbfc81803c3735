/**
 * Shared test helpers: the fixture shared with the Rust tests, a faithful fake of N/crypto's
 * HMAC (real HMAC-SHA256 from Node, keyed by API Secret id), an independent verifier of the
 * callout contract, and fake records.
 */
const fs = require('fs');
const path = require('path');
const nodeCrypto = require('crypto');

const FIXTURE_PATH = path.resolve(__dirname, '..', '..', '..', 'tests', 'fixtures', 'netsuite-callout.json');
const fixture = JSON.parse(fs.readFileSync(FIXTURE_PATH, 'utf8'));

const NODE_ENCODING = { UTF_8: 'utf8', HEX: 'hex', BASE_16: 'hex', BASE_64: 'base64' };

/**
 * Makes the jest-mocked N/crypto compute real HMACs. `secrets` maps API Secret ids to values.
 * Like NetSuite: createSecretKey needs exactly one of secret/guid; the key bytes are the value
 * in the key's encoding; update defaults to UTF_8 input; digest defaults to HEX output.
 */
function installRealHmac(crypto, secrets) {
    crypto.createSecretKey.mockImplementation((options) => {
        if (!options || !!options.secret === !!options.guid) {
            throw new Error('SSS_MISSING_REQD_ARGUMENT: secret or guid');
        }
        if (!Object.prototype.hasOwnProperty.call(secrets, options.secret)) {
            throw new Error('INVALID_SECRET_KEY: ' + options.secret);
        }
        return { secret: options.secret, encoding: options.encoding };
    });
    crypto.createHmac.mockImplementation((options) => {
        if (options.algorithm !== 'SHA256') {
            throw new Error('unexpected algorithm ' + options.algorithm);
        }
        const keyEncoding = NODE_ENCODING[options.key.encoding || 'UTF_8'];
        const h = nodeCrypto.createHmac('sha256', Buffer.from(secrets[options.key.secret], keyEncoding));
        return {
            update: (o) => {
                h.update(Buffer.from(o.input, NODE_ENCODING[o.inputEncoding || 'UTF_8']));
            },
            digest: (o) => h.digest(NODE_ENCODING[(o && o.outputEncoding) || 'HEX']),
        };
    });
}

/** What the service checks (src/netsuite/callout.rs), written independently of the lib. */
function verifyPerContract(secret, headers, body, nowSeconds) {
    const id = headers['webhook-id'];
    const ts = headers['webhook-timestamp'];
    const sig = headers['webhook-signature'];
    if (!id || !ts || !sig || /[.\s]/.test(id) || !/^\d+$/.test(ts)) {
        return false;
    }
    if (Math.abs(nowSeconds - Number(ts)) > 300) {
        return false;
    }
    const expected = nodeCrypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(id + '.' + ts + '.' + body).digest();
    return sig.split(/\s+/).some((entry) => {
        const [version, b64] = entry.split(',');
        if (version !== 'v1' || !b64) {
            return false;
        }
        const got = Buffer.from(b64, 'base64');
        return got.length === expected.length && nodeCrypto.timingSafeEqual(got, expected);
    });
}

/** Math.random value whose base36 digits after "0." start with fixture.script_inputs.id_suffix. */
function randomForSuffix(suffix) {
    return parseInt(suffix, 36) / Math.pow(36, 6) + 1e-12;
}

/**
 * A record as a user-event script sees it. values: body fields; sublists: {id: [{field: v}]}.
 * Unknown fields read as undefined, missing sublists count -1 lines, like NetSuite.
 */
function fakeRecord(spec) {
    const values = Object.assign({}, spec.values);
    const sublists = spec.sublists || {};
    return {
        type: spec.type,
        id: spec.id,
        getValue: jest.fn((o) => values[typeof o === 'string' ? o : o.fieldId]),
        setValue: jest.fn((o) => {
            values[o.fieldId] = o.value;
        }),
        getLineCount: jest.fn((o) => (sublists[o.sublistId] ? sublists[o.sublistId].length : -1)),
        getSublistValue: jest.fn((o) => {
            const lines = sublists[o.sublistId] || [];
            return lines[o.line] ? lines[o.line][o.fieldId] : undefined;
        }),
        save: jest.fn(() => spec.saveId || 901),
        values: values,
    };
}

/** A fake outbox record returned by record.create, remembering what was set. */
function outboxRecordMock(record, saveId) {
    const rec = fakeRecord({ type: 'customrecord_tnb_outbox', saveId: saveId || 901 });
    record.create.mockReturnValue(rec);
    return rec;
}

const UE_TYPES = Object.freeze({
    CREATE: 'create',
    EDIT: 'edit',
    XEDIT: 'xedit',
    DELETE: 'delete',
    SHIP: 'ship',
    CANCEL: 'cancel',
    PACK: 'pack',
    VIEW: 'view',
});

function ueContext(type, newRecord, oldRecord) {
    return { type: type, newRecord: newRecord, oldRecord: oldRecord, UserEventType: UE_TYPES };
}

/** The single https.post call's options. */
function postedCall(https) {
    expect(https.post).toHaveBeenCalledTimes(1);
    return https.post.mock.calls[0][0];
}

module.exports = {
    fixture,
    FIXTURE_PATH,
    installRealHmac,
    verifyPerContract,
    randomForSuffix,
    fakeRecord,
    outboxRecordMock,
    ueContext,
    postedCall,
    UE_TYPES,
};

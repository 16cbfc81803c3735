/**
 * @NApiVersion 2.1
 * @NModuleScope SameAccount
 *
 * tnb_callout_lib.js: the one module that talks to tiktok-netsuite-bridge. The user-event
 * scripts describe a change; this module builds the callout body, signs it, posts it, and when
 * the post fails (exception, timeout or non-2xx answer) writes it to the outbox custom record
 * so the retry script delivers it later. A failed callout is never dropped and never fails the
 * user's save.
 *
 * Contract (the service verifies exactly this: src/netsuite/callout.rs; deploy/netsuite/README.md):
 *   webhook-id        ns_<record type>_<internal id>_<event>_<base36 ms><random>, reused on retries
 *   webhook-timestamp Unix seconds of this attempt
 *   webhook-signature v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
 *   key               UTF-8 bytes of the API Secret custsecret_tnb_callout (plain, no whsec_)
 *   body              {"type","occurred_at","account","data"}, ASCII-only JSON
 *
 * N/crypto never hands the secret to the script: createSecretKey references the API Secret by
 * id. Hmac.digest is asked for HEX (its documented default) and the hex is turned into base64
 * here, in plain code covered by the shared fixture test, rather than relying on a second
 * encoding path no test can reach.
 */
define(['N/cache', 'N/crypto', 'N/encode', 'N/https', 'N/log', 'N/record', 'N/runtime'], (
    cache,
    crypto,
    encode,
    https,
    log,
    record,
    runtime
) => {
    /** API Secret (Setup > Company > Preferences > API Secrets) holding the shared HMAC key. */
    const SECRET_ID = 'custsecret_tnb_callout';

    /** The outbox custom record type and its fields (src/Objects/customrecord_tnb_outbox.xml). */
    const OUTBOX = Object.freeze({
        TYPE: 'customrecord_tnb_outbox',
        WEBHOOK_ID: 'custrecord_tnb_ob_webhook_id',
        EVENT_TYPE: 'custrecord_tnb_ob_event_type',
        BODY: 'custrecord_tnb_ob_body',
        ATTEMPTS: 'custrecord_tnb_ob_attempts',
        LAST_ERROR: 'custrecord_tnb_ob_last_error',
        NEXT_ATTEMPT: 'custrecord_tnb_ob_next_attempt',
        GAVE_UP: 'custrecord_tnb_ob_gave_up',
    });

    const EVENT = Object.freeze({
        IF_CREATED: 'item_fulfillment.created',
        IF_SHIPPED: 'item_fulfillment.shipped',
        IF_EDITED: 'item_fulfillment.edited',
        INVENTORY_CHANGED: 'inventory.changed',
        SO_CLOSED: 'sales_order.closed',
        SO_CANCELLED: 'sales_order.cancelled',
    });

    /** Used when a test or an old runtime gives no context.UserEventType. */
    const DEFAULT_UE_TYPES = Object.freeze({
        CREATE: 'create',
        EDIT: 'edit',
        XEDIT: 'xedit',
        DELETE: 'delete',
        SHIP: 'ship',
        CANCEL: 'cancel',
        PACK: 'pack',
        APPROVE: 'approve',
    });

    /**
     * Execution contexts that save records in bulk (CSV import, mass update, map/reduce,
     * scheduled scripts, SOAP web services). There a callout is written to the outbox only and
     * never posted inline: one post per record would hold the job up to 5 s + 45 s each while
     * the bridge is unreachable. The outbox retry delivers them within minutes.
     */
    const BULK_CONTEXTS = ['CSVIMPORT', 'CUSTOMMASSUPDATE', 'MAPREDUCE', 'SCHEDULED', 'WEBSERVICES'];

    /**
     * The breaker: after an inline post fails (not a permanent refusal), inline posts are
     * skipped, straight to the outbox, for BREAKER_SECONDS, so a down bridge costs each save one
     * outbox write instead of a timed-out post. Kept in N/cache (account-wide, best effort: a
     * cache that cannot be read leaves the breaker closed).
     */
    const BREAKER = Object.freeze({ CACHE: 'tnb_callout_breaker', KEY: 'open_until_ms' });
    const BREAKER_SECONDS = 120;

    /** Answers that will not change on a retry of the same body: kept, marked, not retried. */
    const PERMANENT_STATUSES = [400, 413];
    const BACKOFF_BASE_SECONDS = 60;
    const BACKOFF_CAP_SECONDS = 6 * 60 * 60;
    const MAX_ERROR_CHARS = 3900;

    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

    /** Standard base64 (with padding) of the bytes a hex string encodes; either hex case. */
    function hexToBase64(hex) {
        if (typeof hex !== 'string' || hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) {
            throw new Error('HMAC digest is not hex');
        }
        const bytes = [];
        for (let i = 0; i < hex.length; i += 2) {
            bytes.push(parseInt(hex.substring(i, i + 2), 16));
        }
        let out = '';
        for (let i = 0; i < bytes.length; i += 3) {
            const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
            out += B64.charAt((n >> 18) & 63);
            out += B64.charAt((n >> 12) & 63);
            out += i + 1 < bytes.length ? B64.charAt((n >> 6) & 63) : '=';
            out += i + 2 < bytes.length ? B64.charAt(n & 63) : '=';
        }
        return out;
    }

    /** JSON with every non-ASCII character escaped, so the signed bytes cannot depend on a charset. */
    function asciiJson(value) {
        return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => {
            return '\\u' + ('0000' + c.charCodeAt(0).toString(16)).slice(-4);
        });
    }

    /** The callout body. Key order is part of the fixture: type, occurred_at, account, data. */
    function buildBody(type, data, occurredAt, account) {
        return asciiJson({
            type: type,
            occurred_at: occurredAt.toISOString(),
            account: String(account),
            data: data,
        });
    }

    function slugPart(value) {
        return String(value === null || value === undefined ? '' : value).replace(/[^A-Za-z0-9_-]/g, '');
    }

    /**
     * `ns_<record type>_<record id>_<event>_<base36 ms><suffix>`: unique per callout, stable across
     * its retries (the outbox stores it). `suffix` is random unless given (tests).
     */
    function makeWebhookId(recordType, recordId, eventType, nowMs, suffix) {
        const rand =
            suffix !== undefined && suffix !== null
                ? suffix
                : (Math.random().toString(36).slice(2, 8) + '000000').slice(0, 6);
        const eventSlug = String(eventType).split('.').pop();
        return [
            'ns',
            slugPart(recordType),
            slugPart(recordId),
            slugPart(eventSlug),
            Math.floor(nowMs).toString(36) + slugPart(rand),
        ].join('_');
    }

    /** The webhook-signature header value, signed inside NetSuite with the API Secret. */
    function signatureHeader(webhookId, timestamp, body) {
        const key = crypto.createSecretKey({ secret: SECRET_ID, encoding: encode.Encoding.UTF_8 });
        const hmac = crypto.createHmac({ algorithm: crypto.HashAlg.SHA256, key: key });
        hmac.update({
            input: webhookId + '.' + String(timestamp) + '.' + body,
            inputEncoding: encode.Encoding.UTF_8,
        });
        const hex = hmac.digest({ outputEncoding: encode.Encoding.HEX });
        return 'v1,' + hexToBase64(hex);
    }

    /** False for the bridge's own REST writes, so they do not call the bridge back. */
    function contextAllowed() {
        return runtime.executionContext !== runtime.ContextType.REST_WEBSERVICES;
    }

    /** True in a bulk context (BULK_CONTEXTS): write the outbox, never post inline. */
    function isBulkContext() {
        return BULK_CONTEXTS.indexOf(String(runtime.executionContext)) >= 0;
    }

    function breakerCache() {
        try {
            return cache.getCache({ name: BREAKER.CACHE, scope: cache.Scope.PROTECTED }) || null;
        } catch (e) {
            return null;
        }
    }

    /** Whether the breaker is open at nowMs (a recent inline post failed). */
    function breakerOpen(nowMs) {
        const c = breakerCache();
        if (!c) {
            return false;
        }
        try {
            const until = Number(c.get({ key: BREAKER.KEY }));
            return until > nowMs;
        } catch (e) {
            return false;
        }
    }

    /** Opens the breaker for BREAKER_SECONDS from nowMs. */
    function tripBreaker(nowMs) {
        const c = breakerCache();
        if (!c) {
            return;
        }
        try {
            c.put({ key: BREAKER.KEY, value: String(nowMs + BREAKER_SECONDS * 1000), ttl: Math.max(300, BREAKER_SECONDS) });
        } catch (e) {
            // Best effort: without the cache every save tries inline, as before.
        }
    }

    function userEventTypes(context) {
        return (context && context.UserEventType) || DEFAULT_UE_TYPES;
    }

    /** A record's field value, or null when the record, the field or a value is missing. */
    function fieldValue(rec, fieldId) {
        if (!rec) {
            return null;
        }
        try {
            const v = rec.getValue({ fieldId: fieldId });
            return v === undefined || v === '' ? null : v;
        } catch (e) {
            return null;
        }
    }

    function sublistValue(rec, sublistId, fieldId, line) {
        try {
            const v = rec.getSublistValue({ sublistId: sublistId, fieldId: fieldId, line: line });
            return v === undefined || v === '' ? null : v;
        } catch (e) {
            return null;
        }
    }

    function lineCount(rec, sublistId) {
        if (!rec) {
            return 0;
        }
        try {
            const n = rec.getLineCount({ sublistId: sublistId });
            return n > 0 ? n : 0;
        } catch (e) {
            return 0;
        }
    }

    function isTrue(v) {
        return v === true || v === 'T';
    }

    /** Internal ids travel as strings. */
    function idOf(value) {
        if (Array.isArray(value)) {
            value = value[0];
        }
        if (value === null || value === undefined || value === '') {
            return null;
        }
        return String(value);
    }

    /** The bridge URL from a script parameter; null unless it is an https URL. */
    function bridgeUrl(paramName) {
        let value = null;
        try {
            value = runtime.getCurrentScript().getParameter({ name: paramName });
        } catch (e) {
            value = null;
        }
        value = value === null || value === undefined ? '' : String(value).trim();
        return /^https:\/\/\S+$/i.test(value) ? value : null;
    }

    /** Seconds before the next try after `attempts` failed ones: 1, 2, 4 … minutes, at most 6 h. */
    function backoffSeconds(attempts) {
        const n = Math.max(1, Number(attempts) || 1);
        return Math.min(BACKOFF_BASE_SECONDS * Math.pow(2, n - 1), BACKOFF_CAP_SECONDS);
    }

    function describeError(e) {
        if (!e) {
            return 'unknown error';
        }
        const name = e.name || 'Error';
        const message = e.message || String(e);
        return name + ': ' + message;
    }

    function truncate(text, max) {
        const s = text === null || text === undefined ? '' : String(text);
        return s.length > max ? s.slice(0, max) + '…' : s;
    }

    /**
     * One signed POST. Never throws. Returns {ok, status, error, permanent, notConfigured}.
     * N/https gives no timeout option: connecting gives up after 5 s, the whole call after 45 s,
     * which is why the bridge answers as soon as the callout is queued.
     */
    function deliver(options) {
        if (!options.url) {
            return {
                ok: false,
                status: null,
                error: 'bridge URL not configured: set the https URL in the script parameter',
                permanent: false,
                notConfigured: true,
            };
        }
        try {
            const nowMs = options.nowMs === undefined ? Date.now() : options.nowMs;
            const timestamp = Math.floor(nowMs / 1000);
            const response = https.post({
                url: options.url,
                body: options.body,
                headers: {
                    'Content-Type': 'application/json',
                    'webhook-id': options.webhookId,
                    'webhook-timestamp': String(timestamp),
                    'webhook-signature': signatureHeader(options.webhookId, timestamp, options.body),
                },
            });
            const status = Number(response && response.code);
            if (status >= 200 && status < 300) {
                return { ok: true, status: status };
            }
            return {
                ok: false,
                status: status,
                error: 'HTTP ' + status + ': ' + truncate(response && response.body, 500),
                permanent: PERMANENT_STATUSES.indexOf(status) >= 0,
            };
        } catch (e) {
            return { ok: false, status: null, error: describeError(e), permanent: false };
        }
    }

    /** Writes one undelivered callout to the outbox; returns the new record's id. */
    function writeOutbox(entry) {
        const rec = record.create({ type: OUTBOX.TYPE });
        rec.setValue({ fieldId: OUTBOX.WEBHOOK_ID, value: entry.webhookId });
        rec.setValue({ fieldId: OUTBOX.EVENT_TYPE, value: entry.type });
        rec.setValue({ fieldId: OUTBOX.BODY, value: entry.body });
        rec.setValue({ fieldId: OUTBOX.ATTEMPTS, value: entry.attempts });
        rec.setValue({ fieldId: OUTBOX.LAST_ERROR, value: truncate(entry.error, MAX_ERROR_CHARS) });
        const delayMs = entry.attempts > 0 ? backoffSeconds(entry.attempts) * 1000 : 0;
        rec.setValue({ fieldId: OUTBOX.NEXT_ATTEMPT, value: new Date(entry.nowMs + delayMs) });
        rec.setValue({ fieldId: OUTBOX.GAVE_UP, value: !!entry.permanent });
        return rec.save({ ignoreMandatoryFields: true });
    }

    /**
     * Sends one event: {type, recordType, recordId, data}. options: {urlParam, nowMs?, idSuffix?}.
     * Returns {delivered, webhookId, status?, outboxId?, error?}. Never throws.
     */
    function send(event, options) {
        const nowMs = options.nowMs === undefined ? Date.now() : options.nowMs;
        let webhookId = null;
        let body = null;
        try {
            webhookId = makeWebhookId(event.recordType, event.recordId, event.type, nowMs, options.idSuffix);
            body = buildBody(event.type, event.data, new Date(nowMs), runtime.accountId);
        } catch (e) {
            log.emergency({
                title: 'TNB callout could not be built',
                details: describeError(e) + ' ' + truncate(JSON.stringify(event), 2000),
            });
            return { delivered: false, webhookId: webhookId, error: describeError(e) };
        }
        const url = bridgeUrl(options.urlParam);
        const deferral = !url
            ? null
            : isBulkContext()
            ? 'deferred: bulk context ' + String(runtime.executionContext) + ' writes the outbox only'
            : breakerOpen(nowMs)
            ? 'deferred: recent callouts failed (breaker open)'
            : null;
        if (deferral) {
            try {
                const outboxId = writeOutbox({
                    webhookId: webhookId,
                    type: event.type,
                    body: body,
                    error: deferral,
                    attempts: 0,
                    permanent: false,
                    nowMs: nowMs,
                });
                return { delivered: false, deferred: true, webhookId: webhookId, outboxId: outboxId, error: deferral };
            } catch (e) {
                log.emergency({
                    title: 'TNB callout LOST: outbox write failed',
                    details: describeError(e) + ' webhook-id=' + webhookId + ' body=' + body,
                });
                return { delivered: false, deferred: true, webhookId: webhookId, outboxId: null, error: deferral };
            }
        }
        const result = deliver({ url: url, webhookId: webhookId, body: body, nowMs: nowMs });
        if (result.ok) {
            log.debug({ title: 'TNB callout delivered', details: webhookId + ' HTTP ' + result.status });
            return { delivered: true, webhookId: webhookId, status: result.status };
        }
        if (!result.permanent && !result.notConfigured) {
            tripBreaker(nowMs);
        }
        log.error({ title: 'TNB callout failed; kept in the outbox', details: webhookId + ' ' + result.error });
        try {
            const outboxId = writeOutbox({
                webhookId: webhookId,
                type: event.type,
                body: body,
                error: result.error,
                attempts: result.notConfigured ? 0 : 1,
                permanent: result.permanent,
                nowMs: nowMs,
            });
            return { delivered: false, webhookId: webhookId, status: result.status, outboxId: outboxId, error: result.error };
        } catch (e) {
            // Last resort: the execution log keeps what was not delivered.
            log.emergency({
                title: 'TNB callout LOST: outbox write failed',
                details: describeError(e) + ' webhook-id=' + webhookId + ' body=' + body,
            });
            return { delivered: false, webhookId: webhookId, status: result.status, outboxId: null, error: result.error };
        }
    }

    return {
        SECRET_ID,
        OUTBOX,
        EVENT,
        DEFAULT_UE_TYPES,
        PERMANENT_STATUSES,
        hexToBase64,
        asciiJson,
        buildBody,
        makeWebhookId,
        signatureHeader,
        contextAllowed,
        BULK_CONTEXTS,
        BREAKER,
        BREAKER_SECONDS,
        isBulkContext,
        breakerOpen,
        tripBreaker,
        userEventTypes,
        fieldValue,
        sublistValue,
        lineCount,
        isTrue,
        idOf,
        bridgeUrl,
        backoffSeconds,
        describeError,
        truncate,
        deliver,
        writeOutbox,
        send,
    };
});

/**
 * @NApiVersion 2.1
 * @NScriptType MapReduceScript
 * @NModuleScope SameAccount
 *
 * tnb_mr_outbox_retry.js: delivers the callouts the user-event scripts could not, from the
 * outbox custom record. Scheduled every 15 minutes (the shortest recurrence NetSuite offers).
 *
 * getInputData: a SuiteQL query object (no 5,000-row cap, unlike query.runSuiteQL) for the ids
 *   of outbox entries not given up whose next attempt is due; map gets one row each.
 * map (one entry each): skip it when its next attempt is in the future; else post it again with
 *   the same webhook-id and body, signed with a fresh timestamp. Delivered: the entry is deleted.
 *   Failed: attempts + 1, last error, next attempt after an exponential backoff (1 min doubling,
 *   at most 6 h). After the configured number of attempts (default 12), or at once for an answer
 *   that cannot change (400 malformed, 413 too large), the entry is kept and marked "gave up"
 *   for an administrator to look at; clearing the mark queues it again.
 * summarize: counts per outcome and any errors, in the execution log.
 */
define(['N/log', 'N/record', 'N/runtime', './tnb_callout_lib'], (log, record, runtime, lib) => {
    const URL_PARAM = 'custscript_tnb_retry_url';
    const MAX_ATTEMPTS_PARAM = 'custscript_tnb_retry_max_attempts';
    const DEFAULT_MAX_ATTEMPTS = 12;
    const F = lib.OUTBOX;
    const PENDING_QUERY =
        'SELECT id FROM ' + F.TYPE + ' WHERE ' + F.GAVE_UP + " = 'F' AND isinactive = 'F'" +
        ' AND (' + F.NEXT_ATTEMPT + ' IS NULL OR ' + F.NEXT_ATTEMPT + ' <= SYSDATE) ORDER BY id';

    const OUTCOME = Object.freeze({
        DELIVERED: 'delivered',
        FAILED: 'failed',
        GAVE_UP: 'gave_up',
        NOT_DUE: 'not_due',
        SKIPPED: 'skipped',
        MISSING: 'missing',
    });

    function maxAttempts() {
        try {
            const v = Number(runtime.getCurrentScript().getParameter({ name: MAX_ATTEMPTS_PARAM }));
            return v >= 1 ? Math.floor(v) : DEFAULT_MAX_ATTEMPTS;
        } catch (e) {
            return DEFAULT_MAX_ATTEMPTS;
        }
    }

    function getInputData() {
        if (!lib.bridgeUrl(URL_PARAM)) {
            // Retrying without a URL would only burn attempts; the entries wait.
            log.error({
                title: 'TNB outbox retry: bridge URL not configured',
                details: 'Set the ' + URL_PARAM + ' parameter on the deployment to the https URL of POST /callouts/netsuite.',
            });
            return [];
        }
        // Map/reduce pages a SuiteQL input itself, past runSuiteQL's 5,000 rows.
        return { type: 'suiteql', query: PENDING_QUERY, params: [] };
    }

    function parseId(value) {
        let v = value;
        try {
            v = JSON.parse(value);
        } catch (e) {
            v = value;
        }
        if (v && typeof v === 'object') {
            // A SuiteQL input row: {"types": [...], "values": [id]}.
            v = Array.isArray(v.values) ? v.values[0] : v.id;
        }
        return lib.idOf(v);
    }

    function isDate(v) {
        return !!v && typeof v.getTime === 'function';
    }

    /** Tries one outbox entry; returns one of OUTCOME. */
    function processEntry(id, nowMs) {
        let rec;
        try {
            rec = record.load({ type: F.TYPE, id: id });
        } catch (e) {
            return OUTCOME.MISSING;
        }
        if (lib.isTrue(rec.getValue({ fieldId: F.GAVE_UP }))) {
            return OUTCOME.SKIPPED;
        }
        const next = rec.getValue({ fieldId: F.NEXT_ATTEMPT });
        if (isDate(next) && next.getTime() > nowMs) {
            return OUTCOME.NOT_DUE;
        }
        const result = lib.deliver({
            url: lib.bridgeUrl(URL_PARAM),
            webhookId: String(rec.getValue({ fieldId: F.WEBHOOK_ID })),
            body: String(rec.getValue({ fieldId: F.BODY })),
            nowMs: nowMs,
        });
        if (result.ok) {
            record.delete({ type: F.TYPE, id: id });
            return OUTCOME.DELIVERED;
        }
        if (result.notConfigured) {
            return OUTCOME.SKIPPED;
        }
        const attempts = (Number(rec.getValue({ fieldId: F.ATTEMPTS })) || 0) + 1;
        const gaveUp = !!result.permanent || attempts >= maxAttempts();
        rec.setValue({ fieldId: F.ATTEMPTS, value: attempts });
        rec.setValue({ fieldId: F.LAST_ERROR, value: lib.truncate(result.error, 3900) });
        rec.setValue({ fieldId: F.NEXT_ATTEMPT, value: new Date(nowMs + lib.backoffSeconds(attempts) * 1000) });
        rec.setValue({ fieldId: F.GAVE_UP, value: gaveUp });
        rec.save({ ignoreMandatoryFields: true });
        if (gaveUp) {
            log.error({ title: 'TNB outbox entry gave up', details: 'outbox ' + id + ' after ' + attempts + ' attempts: ' + result.error });
        }
        return gaveUp ? OUTCOME.GAVE_UP : OUTCOME.FAILED;
    }

    function map(context) {
        const id = parseId(context.value);
        if (id === null) {
            return;
        }
        context.write({ key: processEntry(id, Date.now()), value: id });
    }

    function summarize(summary) {
        const counts = {};
        summary.output.iterator().each((key) => {
            counts[key] = (counts[key] || 0) + 1;
            return true;
        });
        log.audit({ title: 'TNB outbox retry', details: JSON.stringify(counts) });
        summary.mapSummary.errors.iterator().each((key, error) => {
            log.error({ title: 'TNB outbox retry: map error for ' + key, details: error });
            return true;
        });
        return counts;
    }

    return { getInputData, map, summarize, processEntry, parseId, OUTCOME, PENDING_QUERY, URL_PARAM, MAX_ATTEMPTS_PARAM };
});

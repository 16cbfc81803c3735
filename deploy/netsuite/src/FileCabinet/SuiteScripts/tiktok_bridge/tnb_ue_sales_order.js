/**
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 *
 * tnb_ue_sales_order.js: tell the bridge when a sales order is cancelled or closed in NetSuite.
 *
 *   cancel                                     -> sales_order.cancelled
 *   edit/xedit, order status became C          -> sales_order.cancelled
 *   edit/xedit, became closed (status H, or
 *   every item line closed)                    -> sales_order.closed
 * Nothing else is sent. Orders whose external id does not start with the configured prefix
 * (default `tiktok-order:`, the bridge's external ids) are not TikTok orders and are skipped;
 * an empty prefix sends every order. REST web services writes (the bridge's own) are skipped.
 */
define(['N/log', 'N/runtime', './tnb_callout_lib'], (log, runtime, lib) => {
    const URL_PARAM = 'custscript_tnb_so_url';
    const PREFIX_PARAM = 'custscript_tnb_so_extid_prefix';
    const CLOSED = 'H';
    const CANCELLED = 'C';

    function orderStatus(rec) {
        const v = lib.fieldValue(rec, 'orderstatus');
        return v === null ? null : String(v);
    }

    function allLinesClosed(rec) {
        const n = lib.lineCount(rec, 'item');
        if (n === 0) {
            return false;
        }
        for (let i = 0; i < n; i++) {
            if (!lib.isTrue(lib.sublistValue(rec, 'item', 'isclosed', i))) {
                return false;
            }
        }
        return true;
    }

    function isClosed(rec) {
        return !!rec && (orderStatus(rec) === CLOSED || allLinesClosed(rec));
    }

    function chooseEventType(ueType, newRec, oldRec) {
        const T = lib.DEFAULT_UE_TYPES;
        if (ueType === T.CANCEL) {
            return lib.EVENT.SO_CANCELLED;
        }
        if (ueType !== T.EDIT && ueType !== T.XEDIT) {
            return null;
        }
        if (orderStatus(newRec) === CANCELLED && orderStatus(oldRec) !== CANCELLED) {
            return lib.EVENT.SO_CANCELLED;
        }
        if (isClosed(newRec) && !isClosed(oldRec)) {
            return lib.EVENT.SO_CLOSED;
        }
        return null;
    }

    function prefixParam() {
        try {
            const v = runtime.getCurrentScript().getParameter({ name: PREFIX_PARAM });
            return v === null || v === undefined ? '' : String(v).trim();
        } catch (e) {
            return '';
        }
    }

    function afterSubmit(context) {
        try {
            if (!lib.contextAllowed()) {
                return null;
            }
            const T = lib.userEventTypes(context);
            if ([T.CANCEL, T.EDIT, T.XEDIT].indexOf(context.type) < 0) {
                return null;
            }
            const newRec = context.newRecord;
            const oldRec = context.oldRecord;
            const type = chooseEventType(String(context.type), newRec, oldRec);
            if (!type) {
                return null;
            }
            const externalId = lib.fieldValue(newRec, 'externalid') || lib.fieldValue(oldRec, 'externalid');
            const prefix = prefixParam();
            if (prefix && (externalId === null || String(externalId).indexOf(prefix) !== 0)) {
                return null;
            }
            return lib.send(
                {
                    type: type,
                    recordType: newRec.type || 'salesorder',
                    recordId: lib.idOf(newRec.id),
                    data: {
                        sales_order_id: lib.idOf(newRec.id),
                        external_id: externalId === null ? null : String(externalId),
                        order_status: orderStatus(newRec) || orderStatus(oldRec),
                        trigger: String(context.type),
                    },
                },
                { urlParam: URL_PARAM }
            );
        } catch (e) {
            log.error({ title: 'TNB sales order callout skipped', details: lib.describeError(e) });
            return null;
        }
    }

    return { afterSubmit, chooseEventType, URL_PARAM, PREFIX_PARAM };
});

/**
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 *
 * tnb_ue_sales_order.js: every sales order, from any channel, moves stock the moment it is
 * saved (it commits what it orders). One callout per change:
 *
 *   TikTok order: cancel, or edit/xedit to status C   -> sales_order.cancelled
 *   TikTok order: edit/xedit to closed (status H, or
 *                 every item line closed)             -> sales_order.closed
 *   TikTok order: create                              -> nothing (the bridge wrote it and its
 *                                                        ledger already counts its units)
 *   any other create/edit/xedit/delete/approve/cancel -> inventory.changed (items, locations)
 *
 * A TikTok order is recognised as the bridge does: its external id starts with the configured
 * prefix (default `tiktok-order:`, the bridge's external ids) OR `custbody_tiktok_order_id` is
 * set. Inline edits (xedit) carry only the changed fields: status and lines fall back to the
 * old record. REST web services writes (the bridge's own) are skipped; bulk contexts write the
 * outbox only (tnb_callout_lib.js).
 */
define(['N/log', 'N/runtime', './tnb_callout_lib'], (log, runtime, lib) => {
    const URL_PARAM = 'custscript_tnb_so_url';
    const PREFIX_PARAM = 'custscript_tnb_so_extid_prefix';
    const TIKTOK_ORDER_FIELD = 'custbody_tiktok_order_id';
    /**
     * User-event types answered with `inventory.changed` (TikTok creates and the TikTok
     * closes/cancels above excepted). The NetSuite sandbox mirrors this list (tests/sdf_parity.rs).
     */
    const INVENTORY_EVENTS = ['create', 'edit', 'xedit', 'delete', 'approve', 'cancel'];
    const CLOSED = 'H';
    const CANCELLED = 'C';

    function orderStatus(rec) {
        const v = lib.fieldValue(rec, 'orderstatus');
        return v === null ? null : String(v);
    }

    /**
     * The record as saved. On xedit the new record holds only the changed fields: a field it
     * lacks, and the lines when it has none, are read from the old record.
     */
    function saved(newRec, oldRec, ueType) {
        if (ueType !== 'xedit' || !newRec || !oldRec) {
            return newRec || oldRec;
        }
        const hasLines = lib.lineCount(newRec, 'item') > 0;
        return {
            type: newRec.type,
            id: newRec.id,
            getValue: (o) => {
                const v = lib.fieldValue(newRec, typeof o === 'string' ? o : o.fieldId);
                return v === null ? oldRec.getValue(o) : v;
            },
            getLineCount: (o) => (hasLines ? newRec : oldRec).getLineCount(o),
            getSublistValue: (o) => {
                if (!hasLines) {
                    return oldRec.getSublistValue(o);
                }
                const v = newRec.getSublistValue(o);
                return v === undefined || v === null || v === '' ? oldRec.getSublistValue(o) : v;
            },
        };
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

    /** A TikTok order, as the bridge tells: external id prefix or custbody_tiktok_order_id. */
    function isTikTokOrder(rec) {
        const externalId = lib.fieldValue(rec, 'externalid');
        const prefix = prefixParam();
        if (prefix && externalId !== null && String(externalId).indexOf(prefix) === 0) {
            return true;
        }
        const orderId = lib.fieldValue(rec, TIKTOK_ORDER_FIELD);
        return orderId !== null && String(orderId).trim() !== '';
    }

    function addId(set, value) {
        const id = lib.idOf(value);
        if (id !== null) {
            set[id] = true;
        }
    }

    function sortedIds(set) {
        return Object.keys(set).sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
    }

    /** {item_ids, location_ids} on the lines of either version (the header location too). */
    function touched(newRec, oldRec) {
        const items = {};
        const locations = {};
        [newRec, oldRec].forEach((rec) => {
            if (!rec) {
                return;
            }
            addId(locations, lib.fieldValue(rec, 'location'));
            const n = lib.lineCount(rec, 'item');
            for (let line = 0; line < n; line++) {
                addId(items, lib.sublistValue(rec, 'item', 'item', line));
                addId(locations, lib.sublistValue(rec, 'item', 'location', line));
            }
        });
        return { item_ids: sortedIds(items), location_ids: sortedIds(locations) };
    }

    function afterSubmit(context) {
        try {
            if (!lib.contextAllowed()) {
                return null;
            }
            const ueType = String(context.type);
            const oldRec = context.oldRecord;
            const newRec = saved(context.newRecord, oldRec, ueType);
            const subject = newRec || oldRec;
            const recordId = lib.idOf(subject.id) || lib.idOf(oldRec && oldRec.id);
            const tiktok = isTikTokOrder(subject) || (!!oldRec && isTikTokOrder(oldRec));
            const type = tiktok && newRec ? chooseEventType(ueType, newRec, oldRec) : null;
            if (type) {
                const externalId = lib.fieldValue(subject, 'externalid');
                return lib.send(
                    {
                        type: type,
                        recordType: subject.type || 'salesorder',
                        recordId: recordId,
                        data: {
                            sales_order_id: recordId,
                            external_id: externalId === null ? null : String(externalId),
                            order_status: orderStatus(newRec) || orderStatus(oldRec),
                            trigger: ueType,
                        },
                    },
                    { urlParam: URL_PARAM }
                );
            }
            if (INVENTORY_EVENTS.indexOf(ueType) < 0 || (tiktok && ueType === 'create')) {
                return null;
            }
            const changed = touched(newRec, oldRec);
            if (changed.item_ids.length === 0) {
                return null;
            }
            const recordType = String(subject.type || 'salesorder');
            return lib.send(
                {
                    type: lib.EVENT.INVENTORY_CHANGED,
                    recordType: recordType,
                    recordId: recordId,
                    data: {
                        record_type: recordType,
                        record_id: recordId,
                        item_ids: changed.item_ids,
                        location_ids: changed.location_ids,
                        trigger: ueType,
                    },
                },
                { urlParam: URL_PARAM }
            );
        } catch (e) {
            log.error({ title: 'TNB sales order callout skipped', details: lib.describeError(e) });
            return null;
        }
    }

    return { afterSubmit, chooseEventType, isTikTokOrder, touched, URL_PARAM, PREFIX_PARAM, TIKTOK_ORDER_FIELD, INVENTORY_EVENTS };
});

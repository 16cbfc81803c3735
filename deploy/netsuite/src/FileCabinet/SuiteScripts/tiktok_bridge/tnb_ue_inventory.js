/**
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 *
 * tnb_ue_inventory.js: deployed on every record that moves stock whatever channel saved it:
 * item receipts (return receipts included), inventory adjustments, transfers, transfer orders,
 * cash sales and invoices (which ship stock without Advanced Shipping), item fulfillments,
 * assembly builds and unbuilds, work order issues and completions, inventory status changes
 * and inventory counts. After one is created, edited, deleted, approved, cancelled, packed or
 * shipped, send one `inventory.changed` naming the items and locations it touches, so the
 * bridge recomputes sellable quantities and pushes them to TikTok (flow I1). Sales orders are
 * tnb_ue_sales_order.js's.
 *
 * Items and locations are the union over the new and the old record: an edit that removes a line
 * or moves it to another location changes stock for the old values too, and an inline edit
 * (xedit), whose new record carries only the changed fields, falls back to the old record's
 * lines. Lines of an item receipt that are not received (itemreceive unchecked on both versions)
 * are left out. Nothing is sent when no item is found. REST web services writes (the bridge's
 * own) are skipped; bulk contexts write the outbox only (tnb_callout_lib.js).
 */
define(['N/log', './tnb_callout_lib'], (log, lib) => {
    const URL_PARAM = 'custscript_tnb_inv_url';
    /**
     * User-event types answered with `inventory.changed` on every record type this script is
     * deployed on. The NetSuite sandbox mirrors this list and the deployments'
     * record types (tests/sdf_parity.rs reads both).
     */
    const INVENTORY_EVENTS = ['create', 'edit', 'xedit', 'delete', 'approve', 'cancel', 'pack', 'ship'];
    /**
     * Receipts, fulfillments, cash sales, invoices, transfer orders and counts list items on
     * `item`; adjustments, transfers and status changes on `inventory`; assembly builds and
     * unbuilds and work order issues and completions their components on `component`.
     */
    const SUBLISTS = ['item', 'inventory', 'component'];
    /** The assembly an assembly build, unbuild or work order completion makes or breaks. */
    const HEADER_ITEMS = ['item'];
    /** Transfers: from `location` to `transferlocation`; adjustments may set `adjlocation`. */
    const HEADER_LOCATIONS = ['location', 'transferlocation', 'adjlocation'];

    function addId(set, value) {
        const id = lib.idOf(value);
        if (id !== null) {
            set[id] = true;
        }
    }

    function collect(rec, items, locations) {
        if (!rec) {
            return;
        }
        HEADER_LOCATIONS.forEach((fieldId) => addId(locations, lib.fieldValue(rec, fieldId)));
        HEADER_ITEMS.forEach((fieldId) => addId(items, lib.fieldValue(rec, fieldId)));
        SUBLISTS.forEach((sublistId) => {
            const n = lib.lineCount(rec, sublistId);
            for (let line = 0; line < n; line++) {
                const receive = lib.sublistValue(rec, sublistId, 'itemreceive', line);
                if (receive === false || receive === 'F') {
                    continue;
                }
                addId(items, lib.sublistValue(rec, sublistId, 'item', line));
                addId(locations, lib.sublistValue(rec, sublistId, 'location', line));
            }
        });
    }

    function sortedIds(set) {
        return Object.keys(set).sort((a, b) => {
            const na = Number(a);
            const nb = Number(b);
            return isNaN(na) || isNaN(nb) ? (a < b ? -1 : a > b ? 1 : 0) : na - nb;
        });
    }

    /** {item_ids, location_ids} touched by either version of the record. */
    function touched(newRec, oldRec) {
        const items = {};
        const locations = {};
        collect(newRec, items, locations);
        collect(oldRec, items, locations);
        return { item_ids: sortedIds(items), location_ids: sortedIds(locations) };
    }

    function afterSubmit(context) {
        try {
            if (!lib.contextAllowed()) {
                return null;
            }
            if (INVENTORY_EVENTS.indexOf(String(context.type)) < 0) {
                return null;
            }
            const newRec = context.newRecord;
            const oldRec = context.oldRecord;
            const changed = touched(newRec, oldRec);
            if (changed.item_ids.length === 0) {
                return null;
            }
            const subject = newRec || oldRec;
            const recordType = String(subject.type || (oldRec && oldRec.type) || 'transaction');
            const recordId = lib.idOf(subject.id) || lib.idOf(oldRec && oldRec.id);
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
                        trigger: String(context.type),
                    },
                },
                { urlParam: URL_PARAM }
            );
        } catch (e) {
            log.error({ title: 'TNB inventory callout skipped', details: lib.describeError(e) });
            return null;
        }
    }

    return { afterSubmit, touched, URL_PARAM, INVENTORY_EVENTS };
});

/**
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 *
 * tnb_ue_item_fulfillment.js: after an item fulfillment is saved (create, edit, inline edit,
 * ship), tell the bridge which fulfillment changed. The bridge re-reads it (packages, tracking,
 * lines) and pushes tracking to TikTok (flow F1).
 *
 * Event type:
 *   ship                                  -> item_fulfillment.shipped
 *   create, status C or no status         -> item_fulfillment.shipped (without Pick, Pack and
 *                                            Ship a saved fulfillment is a shipped one)
 *   create, status A/B                    -> item_fulfillment.created
 *   edit/xedit, status became C           -> item_fulfillment.shipped
 *   pack, other edits (tracking, ...)     -> item_fulfillment.edited
 *   delete                                -> nothing here (tnb_ue_inventory.js: inventory.changed)
 * Bulk contexts (CSV import, SOAP, map/reduce, ...) write the outbox only (tnb_callout_lib.js).
 * Writes made through REST web services (the bridge itself, flow F2) are skipped.
 */
define(['N/log', './tnb_callout_lib'], (log, lib) => {
    const URL_PARAM = 'custscript_tnb_if_url';
    const SHIPPED = 'C';

    function chooseEventType(ueType, shipStatus, previousShipStatus) {
        const T = lib.DEFAULT_UE_TYPES;
        if (ueType === T.SHIP) {
            return lib.EVENT.IF_SHIPPED;
        }
        if (ueType === T.CREATE) {
            return shipStatus === SHIPPED || !shipStatus ? lib.EVENT.IF_SHIPPED : lib.EVENT.IF_CREATED;
        }
        if (shipStatus === SHIPPED && previousShipStatus !== SHIPPED) {
            return lib.EVENT.IF_SHIPPED;
        }
        return lib.EVENT.IF_EDITED;
    }

    function afterSubmit(context) {
        try {
            if (!lib.contextAllowed()) {
                return null;
            }
            const T = lib.userEventTypes(context);
            // PACK is an edit to status B. DELETE moves stock only: the inventory script,
            // deployed on item fulfillments too, announces it as inventory.changed.
            if ([T.CREATE, T.EDIT, T.XEDIT, T.SHIP, T.PACK || 'pack'].indexOf(context.type) < 0) {
                return null;
            }
            const newRec = context.newRecord;
            const oldRec = context.oldRecord;
            // Inline edits (xedit) carry only the changed fields: fall back to the old record.
            const shipStatus = lib.fieldValue(newRec, 'shipstatus') || lib.fieldValue(oldRec, 'shipstatus');
            const previous = lib.fieldValue(oldRec, 'shipstatus');
            const type = chooseEventType(String(context.type), shipStatus, previous);
            const createdFrom = lib.fieldValue(newRec, 'createdfrom') || lib.fieldValue(oldRec, 'createdfrom');
            return lib.send(
                {
                    type: type,
                    recordType: newRec.type || 'itemfulfillment',
                    recordId: lib.idOf(newRec.id),
                    data: {
                        item_fulfillment_id: lib.idOf(newRec.id),
                        created_from: lib.idOf(createdFrom),
                        ship_status: shipStatus ? String(shipStatus) : null,
                        previous_ship_status: previous ? String(previous) : null,
                        trigger: String(context.type),
                    },
                },
                { urlParam: URL_PARAM }
            );
        } catch (e) {
            log.error({ title: 'TNB item fulfillment callout skipped', details: lib.describeError(e) });
            return null;
        }
    }

    return { afterSubmit, chooseEventType, URL_PARAM };
});

/**
 * The SDF objects agree with the scripts: files exist, parameters and outbox fields the scripts
 * read are declared, user-event deployments exclude REST web services, ids fit SDF's 40 chars.
 */
import lib from 'SuiteScripts/tiktok_bridge/tnb_callout_lib';
import ifScript from 'SuiteScripts/tiktok_bridge/tnb_ue_item_fulfillment';
import soScript from 'SuiteScripts/tiktok_bridge/tnb_ue_sales_order';
import invScript from 'SuiteScripts/tiktok_bridge/tnb_ue_inventory';
import retryScript from 'SuiteScripts/tiktok_bridge/tnb_mr_outbox_retry';

const fs = require('fs');
const path = require('path');

const SRC = path.resolve(__dirname, '..', 'src');
const read = (rel) => fs.readFileSync(path.join(SRC, rel), 'utf8');
const objects = fs
    .readdirSync(path.join(SRC, 'Objects'))
    .filter((f) => f.endsWith('.xml'))
    .map((f) => ({ file: f, xml: read(path.join('Objects', f)) }));
const object = (id) => objects.find((o) => o.file === id + '.xml').xml;

const SCRIPTS = [
    { id: 'customscript_tnb_ue_item_fulfillment', tag: 'usereventscript', type: 'UserEventScript', params: [ifScript.URL_PARAM], records: ['ITEMFULFILLMENT'] },
    { id: 'customscript_tnb_ue_sales_order', tag: 'usereventscript', type: 'UserEventScript', params: [soScript.URL_PARAM, soScript.PREFIX_PARAM], records: ['SALESORDER'] },
    { id: 'customscript_tnb_ue_inventory', tag: 'usereventscript', type: 'UserEventScript', params: [invScript.URL_PARAM], records: ['ITEMRECEIPT', 'INVENTORYADJUSTMENT', 'INVENTORYTRANSFER', 'CASHSALE', 'INVOICE', 'TRANSFERORDER', 'ITEMFULFILLMENT', 'ASSEMBLYBUILD', 'ASSEMBLYUNBUILD', 'WORKORDERISSUE', 'WORKORDERCOMPLETION', 'INVENTORYSTATUSCHANGE', 'INVENTORYCOUNT'] },
    { id: 'customscript_tnb_mr_outbox_retry', tag: 'mapreducescript', type: 'MapReduceScript', params: [retryScript.URL_PARAM, retryScript.MAX_ATTEMPTS_PARAM], records: [] },
];

describe.each(SCRIPTS)('$id', (s) => {
    const xml = object(s.id);

    it('is a ' + s.tag + ' whose file exists and declares the matching @NScriptType', () => {
        expect(xml).toMatch(new RegExp('^<' + s.tag + ' scriptid="' + s.id + '">'));
        const file = xml.match(/<scriptfile>\[\/(SuiteScripts\/[^\]]+)\]<\/scriptfile>/)[1];
        const source = read(path.join('FileCabinet', file));
        expect(source).toMatch(/@NApiVersion 2\.1/);
        expect(source).toMatch(new RegExp('@NScriptType ' + s.type));
    });

    it('declares every parameter the script reads', () => {
        for (const p of s.params) {
            expect(xml).toContain('<scriptcustomfield scriptid="' + p + '">');
        }
    });

    it('uses ids of at most 40 characters', () => {
        for (const [, id] of xml.matchAll(/scriptid="([^"]+)"/g)) {
            expect(id.length).toBeLessThanOrEqual(40);
        }
    });

    if (s.tag === 'usereventscript') {
        it('deploys on its records, for every context but REST web services', () => {
            const deployments = [...xml.matchAll(/<scriptdeployment scriptid="(customdeploy_[^"]+)">([\s\S]*?)<\/scriptdeployment>/g)];
            expect(deployments.map((d) => d[2].match(/<recordtype>([^<]+)<\/recordtype>/)[1])).toEqual(s.records);
            for (const [, , body] of deployments) {
                const contexts = body.match(/<executioncontext>([^<]+)<\/executioncontext>/)[1].split('|');
                expect(contexts).not.toContain('RESTWEBSERVICES');
                expect(contexts).toEqual(expect.arrayContaining(['USERINTERFACE', 'CSVIMPORT', 'WEBSERVICES', 'WORKFLOW', 'SCHEDULED', 'MAPREDUCE']));
                expect(body).toContain('<status>RELEASED</status>');
            }
        });
    }
});

it('the retry script is scheduled every 15 minutes, one run at a time', () => {
    const xml = object('customscript_tnb_mr_outbox_retry');
    expect(xml).toContain('<status>SCHEDULED</status>');
    expect(xml).toContain('<repeat>PT15M</repeat>');
    expect(xml).toContain('<concurrencylimit>1</concurrencylimit>');
});

it('the outbox record type declares every field the scripts use', () => {
    const xml = object(lib.OUTBOX.TYPE);
    expect(xml).toMatch(new RegExp('^<customrecordtype scriptid="' + lib.OUTBOX.TYPE + '">'));
    const fields = Object.entries(lib.OUTBOX).filter(([k]) => k !== 'TYPE');
    for (const [, id] of fields) {
        expect(xml).toContain('<customrecordcustomfield scriptid="' + id + '">');
    }
    const declared = [...xml.matchAll(/<customrecordcustomfield scriptid="([^"]+)">/g)].map((m) => m[1]);
    expect(declared.sort()).toEqual(fields.map(([, id]) => id).sort());
    expect(xml).toContain('<accesstype>NONENEEDED</accesstype>');
});

it('deploy.xml ships the script folder and every object', () => {
    const deploy = read('deploy.xml');
    expect(deploy).toContain('<path>~/FileCabinet/SuiteScripts/tiktok_bridge/*</path>');
    expect(deploy).toContain('<path>~/Objects/*</path>');
    expect(read('manifest.xml')).toContain('projecttype="ACCOUNTCUSTOMIZATION"');
    expect(objects.map((o) => o.file).sort()).toEqual(
        [lib.OUTBOX.TYPE, ...SCRIPTS.map((s) => s.id), ...CUSTOM_FIELDS.map((f) => f.id)].map((id) => id + '.xml').sort()
    );
});

// The fields the bridge writes and reads (src/jobs/fulfillment/), shipped instead of made by hand.
const CUSTOM_FIELDS = [
    { id: soScript.TIKTOK_ORDER_FIELD, tag: 'transactionbodycustomfield', on: '<bodysale>T</bodysale>' },
    { id: 'custcol_tiktok_sku_id', tag: 'transactioncolumncustomfield', on: '<colsale>T</colsale>' },
];

it.each(CUSTOM_FIELDS)('$id is shipped as a stored text field on sales orders', (f) => {
    const xml = object(f.id);
    expect(xml).toMatch(new RegExp('^<' + f.tag + ' scriptid="' + f.id + '">'));
    expect(xml).toContain('<fieldtype>TEXT</fieldtype>');
    expect(xml).toContain('<storevalue>T</storevalue>');
    expect(xml).toContain(f.on);
});

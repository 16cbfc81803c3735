/**
 * Test stub for N/runtime: the members the bridge scripts use, with state the tests can set.
 * Values of ContextType are the strings NetSuite reports in runtime.executionContext.
 */
define([], function () {
    var ContextType = Object.freeze({
        ACTION: 'ACTION',
        BUNDLE_INSTALLATION: 'BUNDLEINSTALLATION',
        CLIENT: 'CLIENT',
        CSV_IMPORT: 'CSVIMPORT',
        CUSTOM_MASSUPDATE: 'CUSTOMMASSUPDATE',
        DEBUGGER: 'DEBUGGER',
        MAP_REDUCE: 'MAPREDUCE',
        PORTLET: 'PORTLET',
        RESTLET: 'RESTLET',
        REST_WEBSERVICES: 'RESTWEBSERVICES',
        SCHEDULED: 'SCHEDULED',
        SUITELET: 'SUITELET',
        USEREVENT: 'USEREVENT',
        USER_INTERFACE: 'USERINTERFACE',
        WEBSERVICES: 'WEBSERVICES',
        WORKFLOW: 'WORKFLOW',
    });

    var parameters = {};

    var script = {
        id: 'customscript_test',
        deploymentId: 'customdeploy_test',
        getParameter: function (options) {
            var name = options && options.name;
            return Object.prototype.hasOwnProperty.call(parameters, name) ? parameters[name] : null;
        },
        getRemainingUsage: function () {
            return 1000;
        },
    };

    var runtime = {
        ContextType: ContextType,
        EnvType: Object.freeze({ PRODUCTION: 'PRODUCTION', SANDBOX: 'SANDBOX' }),
        executionContext: ContextType.USER_INTERFACE,
        accountId: '1234567_SB1',
        envType: 'SANDBOX',
        getCurrentScript: function () {
            return script;
        },
        /** Test helper: replaces every script parameter value. */
        __setParameters: function (values) {
            parameters = Object.assign({}, values);
        },
        /** Test helper: back to a UI save in the test account with no parameters. */
        __reset: function () {
            parameters = {};
            runtime.executionContext = ContextType.USER_INTERFACE;
            runtime.accountId = '1234567_SB1';
        },
    };

    return runtime;
});

/**
 * Test stub for N/query: runSuiteQL returns the rows a test put in with __setRows and remembers
 * the statements it was given.
 */
define([], function () {
    var rows = [];
    var statements = [];

    function resultSet(list) {
        return {
            results: list.map(function (row) {
                return {
                    values: Object.keys(row).map(function (k) {
                        return row[k];
                    }),
                    asMap: function () {
                        return row;
                    },
                };
            }),
            asMappedResults: function () {
                return list.map(function (row) {
                    return Object.assign({}, row);
                });
            },
        };
    }

    return {
        runSuiteQL: function (options) {
            statements.push(options);
            return resultSet(rows);
        },
        __setRows: function (list) {
            rows = list.slice();
        },
        __statements: function () {
            return statements.slice();
        },
        __reset: function () {
            rows = [];
            statements = [];
        },
    };
});

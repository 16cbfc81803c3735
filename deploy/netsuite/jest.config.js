const SuiteCloudJestConfiguration = require('@oracle/suitecloud-unit-testing');

// N/runtime and N/query are replaced by small stubs of our own (customStubs/): the scripts read
// the execution context, the account, script parameters and SuiteQL results through them, and
// the tests set those directly.
module.exports = SuiteCloudJestConfiguration.build({
    projectFolder: 'src',
    projectType: SuiteCloudJestConfiguration.ProjectType.ACP,
    customStubs: [
        { module: 'N/runtime', path: '<rootDir>/customStubs/runtime.js' },
        { module: 'N/query', path: '<rootDir>/customStubs/query.js' },
    ],
});

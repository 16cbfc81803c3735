// SuiteCloud CLI configuration: `suitecloud project:deploy` (and validate) work on src/.
module.exports = {
    defaultProjectFolder: 'src',
    commands: {},
};

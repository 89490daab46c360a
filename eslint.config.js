import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier/flat'

/**
 * oclif's shared config (ESLint 9 flat config), with prettier owning layout. The overrides below are
 * the rules whose autofix would change behaviour or whose premise does not hold here; each says why.
 */
export default [
  {
    ignores: ['dist/', 'bench/results/', 'bench/.work/', 'coverage/', '.kreorg-test/', 'oclif.manifest.json'],
  },
  ...oclif,
  prettier,
  {
    rules: {
      // Declaration order is output order: JSON events, checkpoints, control records and tables
      // serialise objects key by key, and class field initialisers may read earlier fields.
      'perfectionist/sort-objects': 'off',
      'perfectionist/sort-classes': 'off',
      'perfectionist/sort-switch-case': 'off',
      'perfectionist/sort-array-includes': 'off',
      'perfectionist/sort-sets': 'off',
      'perfectionist/sort-maps': 'off',
      'perfectionist/sort-enums': 'off',
      // Types list fields and members in reading order (step order, exit-code order), not alphabetically.
      'perfectionist/sort-interfaces': 'off',
      'perfectionist/sort-object-types': 'off',
      'perfectionist/sort-union-types': 'off',
      'perfectionist/sort-intersection-types': 'off',
      // Blank-line rules only add lines; prettier owns layout and files under src/ stay within 400 lines.
      '@stylistic/padding-line-between-statements': 'off',
      '@stylistic/lines-between-class-members': 'off',
      // Polling, draining and retries wait one attempt at a time on purpose.
      'no-await-in-loop': 'off',
      // murmur2, CRC32 and file modes are bit arithmetic.
      'no-bitwise': 'off',
      // `new Promise((resolve) => server.close(resolve))` style executors are fine.
      'no-promise-executor-return': 'off',
      // Fire-and-forget promises are marked with `void` on purpose.
      'no-void': 'off',
      // Small helpers next to their one caller read better than hoisted ones.
      'unicorn/consistent-function-scoping': 'off',
      // Hashes rely on `x | 0` wrapping to int32, which Math.trunc does not do.
      'unicorn/prefer-math-trunc': 'off',
      // Its autofix is not type-aware: `buffer.slice()` would become a number[] spread.
      'unicorn/prefer-spread': 'off',
      // Step results are cloned through JSON on purpose: they must survive a checkpoint round trip.
      'unicorn/prefer-structured-clone': 'off',
      // EventEmitter is the Node idiom, and the agent's public API is one (typed events).
      'unicorn/prefer-event-target': 'off',
      // Size and shape limits: the 400-line file rule and review keep functions small; these counts
      // flag step functions whose length is their runbook's, and splitting them would hide the order.
      complexity: 'off',
      'max-depth': 'off',
      'max-params': 'off',
      // Destructuring one field from a decoded record reads worse than `x = record.field`.
      'prefer-destructuring': 'off',
      // `if (!ok) … else …` often puts the failure first on purpose: the rare path is the dangerous one.
      'unicorn/no-negated-condition': 'off',
      // `array.map(parse)` is fine when `parse` takes one argument; the rule cannot know.
      'unicorn/no-array-callback-reference': 'off',
      'unicorn/no-array-for-each': 'off',
      // Commands and scripts run under oclif's runner or an explicit main(); top-level await would change when they load.
      'unicorn/prefer-top-level-await': 'off',
      // Wire formats name fields as Kafka and AWS do (client_id, X-Amz-Date).
      camelcase: 'off',
      // `() => (x = y)` callbacks assign on purpose (settling a captured variable).
      'no-return-assign': 'off',
      // Loops that poll a condition changed by an awaited callback (a consumer, a timer).
      'no-unmodified-loop-condition': 'off',
      // Byte protocols (Kafka's wire format, SigV4) are clearer as explicit hex and `push(a); push(b)` sequences.
      'unicorn/no-hex-escape': 'off',
      'unicorn/escape-case': 'off',
      'unicorn/no-array-push-push': 'off',
      'unicorn/no-new-array': 'off',
      'unicorn/no-for-loop': 'off',
      // Its autofix drops `undefined` arguments that TypeScript requires, and `() => undefined` is clearer than `() => {}`.
      'unicorn/no-useless-undefined': 'off',
      // A loop is not always clearer than a sum.
      'unicorn/no-array-reduce': 'off',
      // `return await` inside try/catch is needed, and the rule is deprecated upstream for that reason.
      'no-return-await': 'off',
      // `_`-prefixed names are dropped on purpose (a field omitted from a copy, an unused callback argument).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true},
      ],
      // fetch is enabled by default from Node 18 on; the rule only objects to its "experimental" label.
      // zlib.crc32 is used only when present (a table otherwise, see src/kafka/partitioners.ts); fs.cpSync works on Node 20.
      'n/no-unsupported-features/node-builtins': [
        'error',
        {ignores: ['fetch', 'Response', 'Request', 'Headers', 'zlib.crc32', 'fs.cpSync']},
      ],
    },
  },
  {
    // TypeScript itself reports undefined names, and knows DOM/Node global types that no-undef does not.
    files: ['**/*.ts'],
    rules: {'no-undef': 'off'},
  },
  {
    // The tests use vitest, not mocha: describe/it/hooks come from imports, several suites per file.
    files: ['test/**/*.ts'],
    rules: {
      'mocha/max-top-level-suites': 'off',
      'mocha/no-exports': 'off',
      'mocha/no-global-tests': 'off',
      'mocha/no-skipped-tests': 'off',
      'mocha/no-top-level-hooks': 'off',
      // describe → it → a retry loop → a callback is the normal depth of an async test.
      'max-nested-callbacks': 'off',
      // Terse fakes: `async () => (calls++, value)`.
      'no-sequences': 'off',
      // Shell and zsh completion scripts are quoted as strings.
      'no-template-curly-in-string': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      globals: {__dirname: 'readonly', module: 'writable', process: 'readonly', require: 'readonly'},
      sourceType: 'commonjs',
    },
    rules: {'unicorn/prefer-module': 'off'},
  },
  {
    // Scripts that own their process (benchmarks, checks, the test fixture that holds a Kafka) may exit it.
    files: ['bench/**/*.ts', 'scripts/**', 'test/api/*.mjs', 'test/fixtures/**', 'agents/**/*.mjs'],
    rules: {'n/no-process-exit': 'off', 'unicorn/no-process-exit': 'off'},
  },
]

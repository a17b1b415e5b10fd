#!/usr/bin/env node
// Entry point: hands the command line to the compiled CLI.
import { main } from '../dist/src/cli/main.js';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });

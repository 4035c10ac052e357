// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22+); this machine's tooling runs Node 20.
import '../../local/polyfills';

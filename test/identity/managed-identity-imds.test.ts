// Managed identity (system- and user-assigned) through the real ManagedIdentityCredential against a fake IMDS.
import { managedIdentitySuite } from './managed-identity-suite.js';

managedIdentitySuite('imds');

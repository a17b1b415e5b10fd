// Managed identity (system- and user-assigned) through the real ManagedIdentityCredential against a fake App Service endpoint.
import { managedIdentitySuite } from './managed-identity-suite.js';

managedIdentitySuite('app-service');

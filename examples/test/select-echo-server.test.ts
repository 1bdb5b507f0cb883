// The select() echo server, as a user runs it (see test/support/echo-server-suite.ts).
import { echoServerSuite } from '../../test/support/echo-server-suite.js';

echoServerSuite('select-echo-server', { defaultBackend: 'select' });

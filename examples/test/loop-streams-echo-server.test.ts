// The loop-streams-echo-server example, as a user runs it, on every backend (see
// test/support/echo-server-suite.ts). DefaultSelector is epoll on Linux.
import { echoServerSuite } from '../../test/support/echo-server-suite.js';

echoServerSuite('loop-streams-echo-server', { defaultBackend: 'epoll', backends: ['select', 'poll', 'epoll', 'kqueue', 'devpoll'] });

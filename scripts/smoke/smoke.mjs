// The smoke test through import: ESM resolution of the packages, with named
// imports (Node's CommonJS export detection must find them).
import { createServer, createConnection, os, has, OSError, errnoConstants } from '@iomux/core-native';
import { epoll, EPOLLIN } from '@iomux/select';
import { DefaultSelector, EVENT_READ, EVENT_WRITE, selectorBackend } from '@iomux/selectors';
import { EventLoop, startServer, openConnection } from '@iomux/loop';
import checks from './smoke-checks.cjs';

await checks.run('import', {
  core: { createServer, createConnection, os, has, OSError, errnoConstants },
  select: { epoll, EPOLLIN },
  selectors: { DefaultSelector, EVENT_READ, EVENT_WRITE, selectorBackend },
  loop: { EventLoop, startServer, openConnection },
});

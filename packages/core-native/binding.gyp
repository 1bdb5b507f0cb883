{
  "targets": [
    {
      "target_name": "iomux",
      "sources": [
        "native/addon.cc",
        "native/errno.cc",
        "native/fdhandle.cc",
        "native/wait.cc",
        "native/constants.cc",
        "native/select.cc",
        "native/poll.cc",
        "native/os.cc",
        "native/sendfile.cc",
        "native/resource.cc",
        "native/socket.cc",
        "native/dgram.cc",
        "native/dgram-fds.cc",
        "native/sockaddr.cc",
        "native/batch.cc",
        "native/spawn.cc",
        "native/uring.cc",
        "native/ssl.cc", "native/ssl-ctx.cc", "native/ssl-conn.cc", "native/ssl-syms.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/epoll.cc", "native/kqueue.cc", "native/kqueue-linux.cc", "native/kqueue-linux-filters.cc", "native/kqueue-linux-timer.cc", "native/kqueue-linux-notes.cc", "native/kqueue-linux-vnode.cc", "native/devpoll.cc", "native/devpoll-linux.cc"],
          "defines": ["IOMUX_HAVE_EPOLL", "IOMUX_HAVE_KQUEUE", "IOMUX_KQUEUE_EMULATION", "IOMUX_HAVE_DEVPOLL", "IOMUX_DEVPOLL_EMULATION"]
        }],
        ["OS in ('mac', 'freebsd', 'openbsd', 'netbsd')", {
          "sources": ["native/kqueue.cc"],
          "defines": ["IOMUX_HAVE_KQUEUE"]
        }],
        ["OS=='solaris'", {
          "sources": ["native/devpoll.cc"],
          "defines": ["IOMUX_HAVE_DEVPOLL"]
        }]
      ]
    }
  ]
}

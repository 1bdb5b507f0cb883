{
  "targets": [
    {
      "target_name": "iomux_bench",
      "sources": ["bench.cc", "../../packages/core-native/native/errno.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS=='linux'", {"defines": ["IOMUX_HAVE_EPOLL"]}]
      ]
    }
  ]
}

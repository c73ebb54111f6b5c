{
  "targets": [
    {
      "target_name": "loupe_capture",
      "sources": ["src/addon.cc", "src/tracer.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "../../bpf"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}

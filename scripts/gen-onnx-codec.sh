#!/usr/bin/env bash
# Regenerates src/train/onnx/onnx-codec.js, the static ONNX codec (no code compiled at run time), from
# src/train/onnx/onnx-subset.json with protobufjs-cli (from the npm registry; not a dependency of the
# package). Run after changing the schema; test/onnx-codec.test.ts checks the result.
set -euo pipefail
cd "$(dirname "$0")/.."
protobufjs=$(node -p "require('protobufjs/package.json').version")
npx -y -p protobufjs-cli@2.7.1 -p "protobufjs@$protobufjs" pbjs -t static-module -w es6 \
  --no-create --no-verify --no-convert --no-delimited --no-typeurl --no-service --no-comments \
  src/train/onnx/onnx-subset.json -o src/train/onnx/onnx-codec.js
echo "src/train/onnx/onnx-codec.js regenerated (protobufjs $protobufjs)"

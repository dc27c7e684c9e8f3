// Types of the generated codec (onnx-codec.js, see scripts/gen-onnx-codec.sh); proto.ts types the messages.
import type { Writer } from 'protobufjs/minimal.js';

interface MessageCodec {
  encode(message: object, writer?: Writer): Writer;
  decode(bytes: Uint8Array): object;
}

export declare const onnx: {
  ModelProto: MessageCodec;
};

import type { ContentTypeEncoder, ContentTypeEncoderOptions, Message, ResponseMessage } from 'vscode-jsonrpc';

/**
 * A request's result already encoded as JSON by the store (a runs page of 10,000 rows): the encoder below writes its
 * text into the response as it is, instead of parsing it into objects for JSON.stringify to encode again (the CLI's
 * spliced path, over JSON-RPC). The client receives an ordinary result and validates it as any other.
 */
export class RawJson {
  constructor(readonly text: string) {}

  /** Under any other encoder (a connection built without splicingJsonEncoder) the same result, only slower. */
  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

function isResponse(msg: Message): msg is ResponseMessage {
  return 'id' in msg && ('result' in msg || 'error' in msg);
}

/** vscode-jsonrpc's application/json encoder, but a RawJson result is spliced (used by `cairn runtime --stdio`). */
export const splicingJsonEncoder: ContentTypeEncoder = {
  name: 'application/json',
  encode(msg: Message, options: ContentTypeEncoderOptions): Promise<Uint8Array> {
    try {
      if (isResponse(msg) && msg.result instanceof RawJson) {
        const text = `{"jsonrpc":${JSON.stringify(msg.jsonrpc)},"id":${JSON.stringify(msg.id)},"result":${msg.result.text}}`;
        return Promise.resolve(Buffer.from(text, options.charset));
      }
      return Promise.resolve(Buffer.from(JSON.stringify(msg), options.charset));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  },
};

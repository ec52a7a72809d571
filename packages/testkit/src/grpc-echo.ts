import {
  type CallOptions,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  credentials,
  type Metadata,
  type MethodDefinition,
  makeGenericClientConstructor,
  type requestCallback,
  type ServiceDefinition,
} from '@grpc/grpc-js';

/**
 * A request to the test Echo service. Messages travel as JSON inside gRPC's length-prefixed
 * framing: the wire is gRPC's, and no .proto file or code generation is needed.
 */
export interface EchoRequest {
  /** Echoed back in `EchoReply.text`. */
  readonly text?: string;
  /** `serverStream`: how many replies. @defaultValue 1 */
  readonly count?: number;
  /** `unary`: wait before answering; `serverStream`: pause between replies. @defaultValue 0 */
  readonly delayMs?: number;
  /** Bytes of padding carried in `pad`, counted by `clientStream`. @defaultValue 0 */
  readonly size?: number;
  /** Padding (`size` characters), to make large messages. */
  readonly pad?: string;
  /** End the call with this gRPC status code instead of answering. */
  readonly fail?: number;
}

/** A reply of the test Echo service. */
export interface EchoReply {
  /** The name of the backend that answered. */
  readonly backend: string;
  readonly text: string;
  /** The reply's position in its stream; for `clientStream`, the number of messages received. */
  readonly index: number;
  /** The request's `size`; for `clientStream`, the sum over its messages. */
  readonly size: number;
  /** `serverStream`: the request's `pad`, sent back with every reply (to make large replies). */
  readonly pad?: string | undefined;
}

const serialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const deserialize = (bytes: Buffer): never => JSON.parse(bytes.toString('utf8')) as never;

function method(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
): MethodDefinition<EchoRequest, EchoReply> {
  return {
    path: `/switchyard.test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}

/** `switchyard.test.Echo`: one method of each call kind. */
export const ECHO_SERVICE: ServiceDefinition = Object.freeze({
  unary: method('Unary', false, false),
  serverStream: method('ServerStream', false, true),
  clientStream: method('ClientStream', true, false),
  bidi: method('Bidi', true, true),
});

const EchoClientConstructor = makeGenericClientConstructor(ECHO_SERVICE, 'Echo');

/** A `@grpc/grpc-js` client of the Echo service (metadata and call options always given). */
export interface EchoClient extends Client {
  unary(
    request: EchoRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: requestCallback<EchoReply>,
  ): ClientUnaryCall;
  serverStream(
    request: EchoRequest,
    metadata: Metadata,
    options: Partial<CallOptions>,
  ): ClientReadableStream<EchoReply>;
  clientStream(
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: requestCallback<EchoReply>,
  ): ClientWritableStream<EchoRequest>;
  bidi(metadata: Metadata, options: Partial<CallOptions>): ClientDuplexStream<EchoRequest, EchoReply>;
}

/**
 * A client of the Echo service on `address` (`host:port`), h2c, over one channel (one HTTP/2
 * connection, as gRPC clients hold). `close()` it when done.
 */
export function echoClient(address: string, options: ChannelOptions = {}): EchoClient {
  return new EchoClientConstructor(address, credentials.createInsecure(), options) as unknown as EchoClient;
}

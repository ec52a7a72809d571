/**
 * How the attempt loop sends an upstream response downstream: a head, body chunks, an end.
 * The HTTP/1.1 side is {@link TurnWriter}; another inbound protocol (an HTTP/2 stream) is
 * another implementation of these methods, and the attempt loop does not change.
 */
export interface ResponseWriter {
  /**
   * Sets the status and the header pairs (flat). The head may leave with the first body bytes
   * or the end. Throws when the downstream refuses a header (invalid characters).
   */
  head(status: number, headers: string[]): void;
  /** Sends one body chunk; `false` asks the caller to stop reading until {@link ResponseOwner.resumeUpstream}. */
  chunk(data: Buffer): boolean;
  /**
   * The body is complete. The response may leave later in this event-loop turn; then
   * {@link ResponseOwner.responseEnded} runs. `trailers` (flat pairs) are sent where the
   * downstream carries them: always on HTTP/2, in the chunked trailer section on HTTP/1.1.
   */
  end(trailers?: readonly string[]): void;
  /**
   * The response cannot be completed after its head went out: the client must see it cut, not
   * ended (HTTP/1.1: the connection is closed; HTTP/2: the stream is reset with `INTERNAL_ERROR`).
   */
  cut(): void;
}

/** What a {@link ResponseWriter} reports to: the request that owns the response. */
export interface ResponseOwner {
  /** The request already ended (failed, or the client went away): nothing more is written. */
  readonly finished: boolean;
  /** The response has been handed to the downstream in full. */
  responseEnded(): void;
  /** The downstream drained after a `chunk` returned `false`: reading may go on. */
  resumeUpstream(): void;
  /** The downstream connection closed (before the response ended, that is a client abort). */
  downstreamClosed(): void;
}

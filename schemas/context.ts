/** What a bounded context contributes to the schema catalog: its topics and the event types on each. */
export interface SchemaContext {
  /** The context's name: the first part of its topics and of its Avro namespace (`ledgerline.<name>`). */
  readonly name: string;
  /** Topic (also the stream type) → event types; each has `schemas/<name>/<EventType>.avsc`. */
  readonly topics: Readonly<Record<string, readonly string[]>>;
}

import type { SchemaContext } from '../context.js';
import { identityTopics } from './topics.js';

export const identity: SchemaContext = { name: 'identity', topics: identityTopics };

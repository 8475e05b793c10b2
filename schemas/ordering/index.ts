import type { SchemaContext } from '../context.js';
import { orderingTopics } from './topics.js';

export const ordering: SchemaContext = { name: 'ordering', topics: orderingTopics };

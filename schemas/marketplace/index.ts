import type { SchemaContext } from '../context.js';
import { marketplaceTopics } from './topics.js';

export const marketplace: SchemaContext = { name: 'marketplace', topics: marketplaceTopics };

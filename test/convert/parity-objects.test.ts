/** Parity of the converted object models with tfjs (see parity-harness.ts). */
import { paritySuite } from './parity-harness.ts';

paritySuite('objects', 'sample2.jpg', ['centernet', 'nanodet']);

/** Parity of the converted face models with tfjs (see parity-harness.ts); objects are in parity-objects.test.ts. */
import { paritySuite } from './parity-harness.ts';

paritySuite('face', 'sample1.jpg', ['blazeface-back', 'blazeface-front', 'facemesh-detection-full', 'facemesh-detection-short']);

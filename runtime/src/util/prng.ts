/** One definition in protocol/ (the sweep matrix draws with it too); kept here under the runtime's import path. */
export { seededRandom } from '@cairn/protocol';

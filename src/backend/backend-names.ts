// The backend names users can ask for (config `backend`, --backend, TFEW_BACKEND), in a leaf file so the CLI
// can offer them without loading TensorFlow.js.
export const BACKEND_NAMES = ["auto", "tensorflow", "wasm", "cpu", "webgpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

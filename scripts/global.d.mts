// Types of scripts/global.mjs (the script-tag build step).

/** The release cores copied beside dist/clawft.global.js. */
export declare const GLOBAL_WASM: string[];

/**
 * Builds `<outDir>/clawft.global.js` and copies {@link GLOBAL_WASM} from build/ beside it.
 * @param root the project root
 * @param outDir where to write; defaults to `<root>/dist`
 * @returns the written script's path
 */
export declare function buildGlobal(root: string, outDir?: string): Promise<string>;

// Types of usage-text.js (plain JavaScript, so that `--help` needs no TypeScript loader).
export declare const ROLES_TEXT: string;
export declare const USAGE: string;
export declare const RUN_USAGE: string;
export declare const DOCTOR_USAGE: string;
export declare const DEADLETTERS_USAGE: string;
export declare const POLICY_USAGE: string;
export declare const CALIBRATE_USAGE: string;
export declare const EVAL_SWE_USAGE: string;
export declare const UP_USAGE: string;
export declare const ACTOR_USAGE: string;
export declare const BRIDGE_USAGE: string;
export declare const CAMPAIGN_USAGE: string;
export declare const INDEX_USAGE: string;
export declare const SEARCH_USAGE: string;
export declare const EVAL_USAGE: string;
/** `codemesh <cmd> --help`: the usage of one command (undefined: not a command). */
export declare function usageOf(argv: readonly string[]): string | undefined;
/** Whether the arguments ask for help (`--help` / `-h` anywhere before a `--`). */
export declare function wantsHelp(argv: readonly string[]): boolean;

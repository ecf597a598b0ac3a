// Typings for the two SPDX packages (neither ships its own; no @types package is installed).
declare module 'spdx-expression-parse' {
  export interface LicenseLeaf {
    license: string;
    plus?: boolean;
    exception?: string;
  }
  export interface LicenseConjunction {
    left: LicenseNode;
    conjunction: 'and' | 'or';
    right: LicenseNode;
  }
  export type LicenseNode = LicenseLeaf | LicenseConjunction;
  /** Throws on an expression that is not valid SPDX. */
  export default function parse(expression: string): LicenseNode;
}

declare module 'spdx-satisfies' {
  /** Whether `expression` can be satisfied using only `approved` (simple ids, `+` ranges or `WITH` exceptions). */
  export default function satisfies(expression: string, approved: string[]): boolean;
}

export declare const nativeExternals: string[];

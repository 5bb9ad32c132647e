// Minimal types for the parts of snarkjs 0.7.6 this package uses (it ships none).
declare module 'snarkjs' {
  type FileRef = string | Uint8Array | { type: 'mem'; data?: Uint8Array };
  type Logger = {
    warn(...a: unknown[]): void;
    info(...a: unknown[]): void;
    error(...a: unknown[]): void;
    debug(...a: unknown[]): void;
  };
  export type Groth16Proof = import('./proof.ts').Groth16Proof;
  export type Curve = { r: bigint; terminate(): Promise<void> };
  export const curves: { getCurveFromName(name: string): Promise<Curve> };
  export const powersOfTau: {
    newAccumulator(curve: Curve, power: number, file: FileRef, logger?: Logger): Promise<unknown>;
    contribute(
      oldFile: FileRef,
      newFile: FileRef,
      name: string,
      entropy: string,
      logger?: Logger,
    ): Promise<unknown>;
    preparePhase2(oldFile: FileRef, newFile: FileRef, logger?: Logger): Promise<unknown>;
  };
  export const r1cs: {
    info(
      file: FileRef,
      logger?: Logger,
    ): Promise<{ nConstraints: number; nOutputs: number; nPubInputs: number; nVars: number }>;
  };
  export const wtns: { check(r1cs: FileRef, wtns: FileRef, logger?: Logger): Promise<boolean> };
  export const zKey: {
    newZKey(r1cs: FileRef, ptau: FileRef, zkey: FileRef, logger?: Logger): Promise<unknown>;
    exportVerificationKey(zkey: FileRef, logger?: Logger): Promise<Record<string, unknown>>;
  };
  export const groth16: {
    prove(
      zkey: FileRef,
      wtns: FileRef,
      logger?: Logger,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(
      vk: Record<string, unknown>,
      publicSignals: string[],
      proof: Groth16Proof,
      logger?: Logger,
    ): Promise<boolean>;
  };
}

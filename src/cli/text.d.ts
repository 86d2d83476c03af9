// Text files bundled into the command (esbuild's text loader).
declare module '*.txt' {
  const text: string;
  export default text;
}

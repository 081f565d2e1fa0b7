// Files imported `with { type: "text" }` (ffi/executor.c) are strings.
declare module "*.c" {
  const text: string;
  export default text;
}

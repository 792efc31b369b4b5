//! A large component made on the spot, for what compiling costs: one core
//! module of many functions of straight-line arithmetic, which cranelift
//! must compile and cannot skip. Shared by `install_load` and the tests of
//! the compiler process.

use wasm_encoder::{
    CodeSection, Component, Function, FunctionSection, Instruction, Module, ModuleSection, TypeSection, ValType,
};

/// A component of one core module with `functions` functions, each a long
/// run of integer arithmetic on its parameters: code cranelift must compile
/// and cannot skip. A per-run `salt` keeps the compile cache from serving
/// it.
pub fn large_component(functions: u32, salt: i64) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([ValType::I64, ValType::I64], [ValType::I64]);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    for f in 0..functions {
        funcs.function(0);
        let mut body = Function::new([(2, ValType::I64)]);
        for i in 0..120i64 {
            body.instruction(&Instruction::LocalGet(0))
                .instruction(&Instruction::I64Const(i.wrapping_mul(salt).wrapping_add(i64::from(f))))
                .instruction(&Instruction::I64Mul)
                .instruction(&Instruction::LocalGet(1))
                .instruction(&Instruction::I64Xor)
                .instruction(&Instruction::LocalSet(2 + (i as u32 % 2)));
            body.instruction(&Instruction::LocalGet(2)).instruction(&Instruction::LocalSet(0));
        }
        body.instruction(&Instruction::LocalGet(3)).instruction(&Instruction::End);
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&funcs).section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

/// Appends a custom section (id 0: a name and bytes, each length-prefixed
/// in LEB128) to a component's binary, which a component may end with.
pub fn append_custom_section(wasm: &mut Vec<u8>, name: &str, data: &[u8]) {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            out.push(if n == 0 { byte } else { byte | 0x80 });
            if n == 0 {
                break;
            }
        }
    }
    let mut payload = Vec::new();
    leb128(name.len(), &mut payload);
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    wasm.push(0);
    leb128(payload.len(), wasm);
    wasm.extend_from_slice(&payload);
}

/*
 * regress/modules/bad_compat.c: right ABI version, but a magic block that
 * says another data model (pointers of 2 bytes) and a CorralStorage vtable
 * 8 bytes larger than the server's, as if built against a header where it
 * grew by a pointer: "not binary compatible", naming both differences.
 */
#include <corral/module.h>

enum {
#define BAD_COMPAT_INDEX(T) INDEX_##T,
    CORRAL_ABI_STRUCTS(BAD_COMPAT_INDEX)
#undef BAD_COMPAT_INDEX
};

CORRAL_EXPORT const CorralModuleMagic *corral_module_magic(void);
const CorralModuleMagic *corral_module_magic(void)
{
    static CorralModuleMagic magic = {
        .size = sizeof(CorralModuleMagic), .abi = CORRAL_MODULE_ABI_DATA, .name = "bad_compat", .version = "1.0"};
    magic.abi.pointer_size = 2;
    magic.abi.struct_sizes[INDEX_CorralStorage] = (uint32_t)sizeof(CorralStorage) + 8;
    return &magic;
}

int corral_module_init(CorralModule *self, const CorralConfig *config)
{
    return corral_module_fail(self, "bad_compat's init must never run");
}

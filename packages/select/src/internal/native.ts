/**
 * The addon's binding and constants for this package, read once: a name
 * imported from @iomux/core-native's index is a getter on an object in
 * dictionary mode, too slow a load for calls made on every wait; these are
 * plain exports of this module. Import them from here, not from the index.
 */
import { binding, errnoConstants, FD_SETSIZE, selectConstants, toClinicInt } from '@iomux/core-native';

export const B = binding;
export const C = selectConstants;
export const E = errnoConstants;
export const SETSIZE = FD_SETSIZE;
export const toCInt = toClinicInt;

/** PyTorch's two ways to the PRISM norms (issue 14 item 4): the paper's loop, or batched norms from hooks. */
export const TORCH_WAYS = ['loop', 'hooks'] as const;
export type TorchWay = (typeof TORCH_WAYS)[number];
